"""`python -m services.logistics`: serve logistics on LOGISTICS_HOST:LOGISTICS_PORT."""

from services.logistics.app import create_app
from services.logistics.settings import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app(), get_settings())
