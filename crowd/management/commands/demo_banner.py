"""The banner `make run` prints before the server starts: where to go and how to sign in to the demo."""

from urllib.parse import urljoin

from babel import Locale
from django.core.management.base import BaseCommand

from crowd import demo

WIDTH = 78
ENGLISH = Locale("en")  # the banner is for whoever runs the server, in one language


def page(base_url: str, path: str) -> str:
    # urljoin drops the last path segment of a base without a trailing slash ("http://host/app").
    return urljoin(base_url.rstrip("/") + "/", path)


def language_list(languages: tuple[tuple[str, int], ...]) -> str:
    return ", ".join(f"{ENGLISH.languages.get(code, code)} {level}/5" for code, level in languages)


def banner_lines(base_url: str) -> list[str]:
    login = page(base_url, "accounts/login/")
    width = max(len(worker.username) + len(worker.password) for worker in demo.WORKERS) + 3
    workers = [
        f"    {worker.username + ' / ' + worker.password:<{width}}  {language_list(worker.languages)}"
        f" ({ENGLISH.territories.get(worker.country, worker.country)})"
        for worker in demo.WORKERS
    ]
    coordinator = demo.COORDINATOR
    token_command = f'python manage.py create_org_token --org "{demo.ORGANIZATION_NAME}" --email {coordinator.email}'
    return [
        "=" * WIDTH,
        f"  Crowdloop demo: {page(base_url, '')}",
        "=" * WIDTH,
        f"  Workers sign in at {login}",
        *workers,
        "",
        f"  Coordinator ({demo.ORGANIZATION_NAME}, owner): {coordinator.username} / {coordinator.password}",
        f"    sign in:  {login}",
        f"    admin:    {page(base_url, 'admin/')}",
        "",
        f"  API docs:   {page(base_url, 'api/v1/docs/')}",
        f"  API key:    {token_command}",
        "",
        f"  Campaign {demo.CAMPAIGN_NAME!r}: SMS messages in English, Kiswahili and French.",
        "  Demo passwords are public: never load the demo into a production database.",
        "=" * WIDTH,
    ]


class Command(BaseCommand):
    help = "Print the demo's URLs and sign-ins (run after load_demo)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Where the server listens")

    def handle(self, *args, **options) -> None:
        self.stdout.write("\n".join(banner_lines(options["url"])))
