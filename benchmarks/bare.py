"""The baseline web app: Flask with one view returning a short string, nothing else.

Served by the same gunicorn settings as the product and hit by the same load generator,
it tells what the machine, gunicorn, Flask and the generator allow on this run.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The cheapest answer Flask can give."""
    return "Hello, World!"
