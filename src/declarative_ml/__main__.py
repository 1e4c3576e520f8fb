"""``python -m declarative_ml``."""

from declarative_ml.app import main
from declarative_ml.process import exit_without_teardown

if __name__ == "__main__":
    exit_without_teardown(main)
