from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an e-mail address, with the learner's profile."""

    class Profession(models.TextChoices):
        PHYSICIAN = "physician", "Physician (MD, DO)"
        OTHER = "other", "Other health professional"

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("e-mail address", unique=True)

    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    certificate_name = models.CharField(
        "name on certificates",
        max_length=300,
        blank=True,
        help_text="Your legal name as it should print on certificates.",
    )
    degree = models.CharField(
        max_length=100, blank=True, help_text="For example MD, DO, NP, PA-C, RN, PharmD."
    )
    profession = models.CharField(max_length=20, choices=Profession.choices, blank=True)
    npi = models.CharField(
        "NPI",
        max_length=10,
        blank=True,
        validators=[RegexValidator(r"^\d{10}$", "An NPI is exactly 10 digits.")],
    )
    specialty = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.certificate_name or " ".join(
            part for part in (self.given_name, self.family_name) if part
        )

    def get_short_name(self):
        return self.given_name or self.email

    @property
    def profile_is_complete(self):
        return bool(
            self.given_name and self.family_name and self.certificate_name
            and self.degree and self.profession
        )

    @property
    def is_physician(self):
        return self.profession == self.Profession.PHYSICIAN
