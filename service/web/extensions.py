"""The Flask extensions every part of the web layer shares: CSRF protection and the rate limiter."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
# Flask-Limiter, counting in the same Redis, so every web process shares the counts. While Redis is away the
# limits are counted in the process instead (swallow_errors + in_memory_fallback): a page never fails for it.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True, swallow_errors=True,
                  in_memory_fallback_enabled=True)
