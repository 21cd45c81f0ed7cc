"""The admin site: for administrators only, and only after a second factor.

"Staff" is not enough: the admin edits accounts and reference data, so it requires
is_superuser, and (unless IPPLAN_ADMIN_REQUIRE_OTP is off) a session verified with a
TOTP token. There is one way in: the admin's own password-only login form is replaced
by a redirect to the site's login, which asks for the token.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


def is_otp_verified(request: HttpRequest) -> bool:
    # Set by django_otp.middleware.OTPMiddleware; absent means "not verified".
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


class IpplanAdminSite(admin.AdminSite):
    site_header = _("ipplan administration")
    site_title = _("ipplan administration")
    index_title = _("Administration")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_superuser):
            return False
        return is_otp_verified(request) or not settings.IPPLAN_ADMIN_REQUIRE_OTP

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        if not request.user.is_authenticated:
            next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
            return redirect_to_login(next_url)
        # Signed in but not allowed: say why instead of looping through the login.
        needs_otp = request.user.is_superuser and settings.IPPLAN_ADMIN_REQUIRE_OTP
        return render(
            request,
            "accounts/otp_admin_refused.html",
            {"needs_otp": needs_otp},
            status=403,
        )
