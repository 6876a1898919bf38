"""Accounts: users, API keys, browser sessions, quotas and usage (AUTH_MODE apikey | accounts).

`service.AccountService` holds the workflows (database); `passwords`, `keys` and `quotas` are pure.
Ownership of records is enforced below, in `store/ownership.py`, which the API's access middleware
feeds with the authenticated user. See docs/accounts.md.
"""
