from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "ipplan.accounts"
    label = "accounts"
    verbose_name = "Brukere og organisasjoner"
