"""Who may act: API tokens, OpenID Connect bearer tokens, roles and four-eyes approvals.

Shared by the two entry points for people (cli/ and http/), which never import
each other.
"""
