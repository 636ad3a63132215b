from django.core.management.base import BaseCommand

from certificates.services import certificates_sweep_stuck


class Command(BaseCommand):
    help = "Re-enqueue certificates stuck in 'pending' for more than 10 minutes (run from cron)."

    def handle(self, *args, **options):
        count = certificates_sweep_stuck()
        self.stdout.write(f"{count} stuck certificate(s) queued again.")
