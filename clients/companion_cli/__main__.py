"""``companion``: chat with a Companion character in the terminal.

    companion chat xiaoyu                      # the local stack (make dev), as the dev user
    companion chat luna --user alice           # another local user (a dev token is made for them)
    companion chat luna --url https://… --memory-url https://… --token "$TOKEN"   # a deployment
    companion token alice                      # print a local development token

In a chat: /end ends the session (memory is written from it), /memory shows what the
character remembers, /forget deletes it, /history shows the recent conversation, /quit leaves.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from .api import ClientError, CompanionClient, NotRunning

DEFAULT_CHAT_URL = "http://127.0.0.1:8000"
DEFAULT_MEMORY_URL = "http://127.0.0.1:8001"
HELP = "/end  end the session · /memory  what it remembers · /forget  forget everything · " \
       "/history  recent messages · /quit  leave"


def local_token(user_id: str) -> str:
    """A development token, signed with JWT_SECRET or the local stack's built-in secret."""
    from companion.auth import LOCAL_DEV_SECRET, issue_token

    return issue_token(os.environ.get("JWT_SECRET") or LOCAL_DEV_SECRET, user_id, ttl_s=30 * 86400)


def _is_local(url: str) -> bool:
    return (urlsplit(url).hostname or "") in {"127.0.0.1", "localhost", "::1"}


def _when(ts: Any) -> str:
    try:
        return datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OverflowError, OSError):
        return ""


def _explain(err: ClientError, chat_url: str) -> str:
    if isinstance(err, NotRunning):
        hint = " Start the local stack with `make dev`." if _is_local(chat_url) else ""
        return f"Companion is not reachable: {err}.{hint}"
    if err.code == "rate_limited":
        return f"Too many messages; wait {err.retry_after or 'a few'} seconds and try again."
    return f"{err} ({err.code})"


class Chat:
    def __init__(self, client: CompanionClient, character_id: str, out: Any = sys.stdout) -> None:
        self.client = client
        self.character_id = character_id
        self.out = out
        self.name = character_id

    def print(self, text: str = "", end: str = "\n") -> None:
        self.out.write(text + end)
        self.out.flush()

    def start(self) -> None:
        try:
            self.name = str(self.client.character(self.character_id).get("name") or self.character_id)
        except NotRunning:
            raise
        except ClientError as err:
            if err.code in ("unknown_character", "not_found"):
                raise
            # Otherwise the memory API may be elsewhere or older: the id is a fine name.
        self.print(f"Chatting with {self.name}. {HELP}")

    def say(self, message: str) -> None:
        self.print(f"{self.name}> ", end="")
        for event in self.client.say(self.character_id, message):
            if event.kind == "delta":
                self.print(str(event.data.get("content", "")), end="")
            elif event.kind == "error":
                self.print(f"\n[the reply stopped: {event.data.get('error', 'unknown error')}]")
                return
            else:
                self.print()
                notes = []
                if event.data.get("memories"):
                    notes.append(f"remembered {event.data['memories']} memories")
                if event.data.get("degraded"):
                    notes.append("degraded: " + ", ".join(event.data["degraded"]))
                if notes:
                    self.print(f"  ({'; '.join(notes)})")

    def command(self, line: str) -> bool:
        """Runs a /command; False when the user wants to leave."""
        cmd = line.split()[0].lower()
        if cmd in ("/quit", "/exit"):
            return False
        if cmd == "/end":
            got = self.client.end_session(self.character_id)
            if got.get("task_id"):
                self.print(f"Session ended; {got.get('messages', 0)} messages go to long-term memory.")
            else:
                self.print("Session ended; nothing new to remember.")
        elif cmd == "/memory":
            self.show_memory()
        elif cmd == "/forget":
            deleted = self.client.forget(self.character_id).get("deleted") or {}
            self.print(f"{self.name} has forgotten you: {deleted.get('memories', 0)} memories and "
                       f"{deleted.get('messages', 0)} messages deleted.")
        elif cmd == "/history":
            for m in self.client.history(self.character_id):
                who = "you" if m.get("role") == "user" else self.name
                self.print(f"[{_when(m.get('timestamp'))}] {who}: {m.get('content', '')}")
        else:
            self.print(HELP)
        return True

    def show_memory(self) -> None:
        got = self.client.memories(self.character_id)
        if not any(got.values()):
            self.print(f"{self.name} remembers nothing about you yet (memory is written after /end).")
            return
        for kind, label in (("facts", "About you"), ("events", "Events"), ("summaries", "Conversations")):
            if got[kind]:
                self.print(f"{label}:")
            for item in got[kind]:
                date = item.get("date") or _when(item.get("end_ts") or item.get("updated_at"))
                self.print(f"  - {item.get('content', '')}" + (f"  [{date}]" if date else "")
                           + f"  (id {item.get('item_id')})")

    def run(self, lines: Any) -> int:
        self.start()
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            try:
                if line.startswith("/"):
                    if not self.command(line):
                        break
                else:
                    self.say(line)
            except NotRunning:
                raise
            except ClientError as err:
                self.print(f"\n{_explain(err, self.client.chat_url)}")
        return 0


def _input_lines() -> Any:
    interactive = sys.stdin.isatty()
    while True:
        try:
            yield input("you> ") if interactive else next(sys.stdin)
        except (EOFError, StopIteration, KeyboardInterrupt):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="companion", description="Chat with a Companion character.")
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="chat with a character")
    chat.add_argument("character_id")
    chat.add_argument("--url", default=os.environ.get("COMPANION_URL", DEFAULT_CHAT_URL), help="the chat function")
    chat.add_argument("--memory-url", default=os.environ.get("COMPANION_MEMORY_URL", DEFAULT_MEMORY_URL),
                      help="the memory API")
    chat.add_argument("--token", default=os.environ.get("COMPANION_TOKEN"), help="a bearer token (JWT)")
    chat.add_argument("--user", default=os.environ.get("DEV_USER_ID", "dev-user"),
                      help="local only: the user to make a development token for")
    token = sub.add_parser("token", help="print a local development token")
    token.add_argument("user_id")
    args = parser.parse_args(argv)

    if args.command == "token":
        print(local_token(args.user_id))
        return 0
    bearer = args.token
    if not bearer:
        if not _is_local(args.url):
            parser.error("a deployment needs --token (or COMPANION_TOKEN)")
        bearer = local_token(args.user)
    client = CompanionClient(args.url, args.memory_url, bearer)
    try:
        return Chat(client, args.character_id).run(_input_lines())
    except NotRunning as err:
        print(_explain(err, args.url), file=sys.stderr)
        return 2
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
