"""The Chainlit chat at /chat: Chainlit's app root (app.py, .chainlit/, public/) and the
pieces app.py is made of."""

import os
from pathlib import Path

# Chainlit reads its app root (config, translations, public files) when first imported,
# whoever imports it first: here, not the working directory
os.environ["CHAINLIT_APP_ROOT"] = str(Path(__file__).resolve().parent)
