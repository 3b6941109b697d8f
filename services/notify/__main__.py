"""`python -m services.notify`: serve notify on NOTIFY_HOST:NOTIFY_PORT."""

from services.notify.app import create_app
from services.notify.settings import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app(), get_settings())
