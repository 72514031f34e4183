"""``python -m infra.local``: start the whole local stack (what ``make dev`` runs)."""

from infra.local.stack import main

if __name__ == "__main__":
    main()
