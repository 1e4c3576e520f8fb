"""``python -m declarative_ml``."""

from declarative_ml.app import main

if __name__ == "__main__":
    main()
