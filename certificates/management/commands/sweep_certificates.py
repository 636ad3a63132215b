from django.core.management.base import BaseCommand

from certificates.models import Certificate
from certificates.services import certificates_requeue, certificates_sweep


class Command(BaseCommand):
    help = (
        "Queue again the certificates and e-mails that a lost message left undone. Celery beat "
        "runs this every few seconds; run it by hand with --failed once a fault that made "
        "certificates fail (e.g. storage) is fixed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Also run rendering again for every certificate that failed.",
        )

    def handle(self, *args, failed=False, **options):
        renders, emails = certificates_sweep()
        self.stdout.write(f"{renders} pending certificate(s) and {emails} e-mail(s) queued again.")
        if failed:
            count = certificates_requeue(
                certificates=Certificate.objects.filter(state=Certificate.State.FAILED),
                note="Re-run with sweep_certificates --failed.",
            )
            self.stdout.write(f"{count} failed certificate(s) queued again.")
