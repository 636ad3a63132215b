from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "certificate_name", "degree", "profession", "is_staff"]
    search_fields = ["email", "given_name", "family_name", "certificate_name", "npi"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Learner profile",
            {"fields": ["given_name", "family_name", "certificate_name", "degree",
                        "profession", "npi", "specialty"]},
        ),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
