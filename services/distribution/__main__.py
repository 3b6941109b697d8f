"""`python -m services.distribution`: serve distribution on DISTRIBUTION_HOST:DISTRIBUTION_PORT."""

from services.distribution.app import create_app
from services.distribution.settings import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app(), get_settings())
