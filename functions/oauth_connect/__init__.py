"""oauth_connect: the callback of ``switchboard connect <app>`` links (OAuth 2.0 authorization code)."""
