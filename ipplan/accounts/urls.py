from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    # LoginView: password (throttled), then a TOTP code for users who turned it on.
    path("logg-inn/", views.LoginView.as_view(), name="login"),
    path("logg-inn/kode/", views.otp_verify, name="otp-verify"),
    path("konto/tofaktor/", views.otp_setup, name="otp-setup"),
    path("logg-ut/", auth_views.LogoutView.as_view(), name="logout"),
]
