"""`python -m services.intake`: serve intake on INTAKE_HOST:INTAKE_PORT."""

from services.intake.app import create_app
from services.intake.settings import get_settings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app(), get_settings())
