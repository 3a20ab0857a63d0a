"""The Datastore API key in QGIS's authentication database, never in plain settings."""
from qgis.core import QgsApplication, QgsAuthMethodConfig

# The method name newer QGIS versions give their "API Header" configs; QgisTransport
# applies such configs itself on QGIS 3.22, which lacks that method.
API_HEADER_METHOD = "APIHeader"
CONFIG_NAME = "London Datastore API key"


def store_api_key(key: str, authcfg: str = "") -> str:
    """Store ``key`` as an Authorization header config and return its id.

    Updates ``authcfg`` in place when it is one of ours, so a changed key does not
    leave a trail of stale configs behind. QGIS asks for the master password if needed.
    """
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig(API_HEADER_METHOD)
    config.setName(CONFIG_NAME)
    config.setConfig("Authorization", key.strip())
    existing = QgsAuthMethodConfig()
    if authcfg and manager.loadAuthenticationConfig(authcfg, existing, False) and existing.method() == API_HEADER_METHOD:
        config.setId(authcfg)
        if not manager.updateAuthenticationConfig(config):
            raise PermissionError("QGIS did not accept the key: unlock the authentication database and try again.")
        return authcfg
    stored = manager.storeAuthenticationConfig(config)
    ok = stored[0] if isinstance(stored, tuple) else stored
    if not ok:
        raise PermissionError("QGIS did not accept the key: unlock the authentication database and try again.")
    return config.id()
