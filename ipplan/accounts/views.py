"""Sign-in with an optional second factor (TOTP) and its self-service setup for staff.

Password first (throttled by django-axes in the backend). A user with a confirmed
TOTP device is *not* signed in yet after the password: the session only remembers,
for a few minutes, who passed the password step. The code step then signs in and
marks the session verified. So there is never a half-signed-in session that some
view could mistake for a full one. Wrong codes count as failed logins for axes, and
the device itself throttles guesses (django-otp).
"""

import base64
import time

import segno
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp import devices_for_user, verify_token
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from .forms import TokenForm

PENDING_KEY = "ipplan_otp_pending"
PENDING_SECONDS = 300
DEVICE_NAME = "Authenticator"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """The page shown while a username/address pair is locked out (AXES_LOCKOUT_CALLABLE)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/lockout.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=429,
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: object) -> HttpResponse:
        user = form.get_user()
        if any(devices_for_user(user, confirmed=True)):
            self.request.session[PENDING_KEY] = {
                "user": user.pk,
                "backend": user.backend,
                "since": int(time.time()),
                "next": self.get_success_url(),
            }
            return redirect("otp-verify")
        return super().form_valid(form)


def _pending(request: HttpRequest) -> tuple[object, dict] | None:
    data = request.session.get(PENDING_KEY)
    if not data:
        return None
    if time.time() - data.get("since", 0) > PENDING_SECONDS:
        del request.session[PENDING_KEY]
        return None
    user = get_user_model().objects.filter(pk=data["user"], is_active=True).first()
    if user is None:
        del request.session[PENDING_KEY]
        return None
    return user, data


def _verified_device(user: object, token: str) -> TOTPDevice | None:
    """The user's confirmed device that accepts the token, if any (throttled per device)."""
    for device in devices_for_user(user, confirmed=True):
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


@never_cache
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Second step of sign-in: the code from the authenticator app."""
    pending = _pending(request)
    if pending is None:
        if request.user.is_authenticated:
            return redirect(settings.LOGIN_REDIRECT_URL)
        messages.info(request, _("Sign in again: the sign-in took too long."))
        return redirect(settings.LOGIN_URL)
    user, data = pending
    credentials = {settings.AXES_USERNAME_FORM_FIELD: user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        del request.session[PENDING_KEY]
        return get_lockout_response(request, None, credentials)

    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = _verified_device(user, form.cleaned_data["token"])
        if device is not None:
            del request.session[PENDING_KEY]
            auth_login(request, user, backend=data["backend"])
            otp_login(request, device)
            return redirect(data["next"])
        # Counted like a wrong password; AxesMiddleware answers with the lockout page
        # once the limit is reached.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        form.add_error(
            "token", _("The code is wrong or has expired. Enter the newest code from the app.")
        )
    return render(request, "accounts/otp_verify.html", {"form": form})


def _require_staff(request: HttpRequest) -> None:
    # Two-factor setup is offered to those who administer; others get the usual 404.
    if not (request.user.is_staff or request.user.is_superuser):
        raise Http404


def _qr_data_uri(device: TOTPDevice) -> str:
    # An <img> with a data: URI: allowed by our CSP (img-src data:), no inline SVG/style.
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def _secret_groups(device: TOTPDevice) -> str:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@never_cache
@login_required
@sensitive_post_parameters("token")
@require_http_methods(["GET", "POST"])
def otp_setup(request: HttpRequest) -> HttpResponse:
    """Turn the second factor on (scan, confirm with a code) or off (confirm with a code)."""
    _require_staff(request)
    user = request.user
    confirmed = TOTPDevice.objects.devices_for_user(user, confirmed=True).first()
    form = TokenForm(request.POST or None)

    if confirmed is not None:
        if request.method == "POST" and form.is_valid():
            if verify_token(user, confirmed.persistent_id, form.cleaned_data["token"]):
                confirmed.delete()
                messages.success(request, _("Two-step sign-in is turned off."))
                return redirect("otp-setup")
            form.add_error("token", _("The code is wrong or has expired."))
        return render(request, "accounts/otp_setup.html", {"form": form, "enabled": True})

    with transaction.atomic():
        device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    if request.method == "POST" and form.is_valid():
        if verify_token(user, device.persistent_id, form.cleaned_data["token"]):
            # Only one confirmed device: drop any other unconfirmed leftovers.
            TOTPDevice.objects.devices_for_user(user, confirmed=False).exclude(
                pk=device.pk
            ).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(
                request, _("Two-step sign-in is on. You will be asked for a code when you sign in.")
            )
            return redirect("otp-setup")
        form.add_error(
            "token", _("The code is wrong or has expired. Check the time on your phone.")
        )
    return render(
        request,
        "accounts/otp_setup.html",
        {
            "form": form,
            "enabled": False,
            "qr": _qr_data_uri(device),
            "secret": _secret_groups(device),
        },
    )
