"""Simulated colleagues for the demo: agents who work through the real agent API over HTTP, as their apps would.

Each simulated agent signs in, keeps its event stream (`GET /v1/events`) open so the server counts it as
connected, sets itself *available* and follows the change log with delta syncs (its own cursor and a small
in-memory state). When the router hands it a conversation whose customer is waiting, it takes a human-like
pause, opens it (presence "viewing"), types for a few seconds ("typing", repeated as the desktop does), replies
in the customer's language (a handful of templates by topic) and sometimes resolves the conversation a little
later. Now and then an agent goes *away* for a while; one agent ends their shift after a while, handing their
conversations back to the queue, and comes back later. A status a lead sets for them is respected: they come
back on their own after a while.

Credentials come in the environment (`WORKSTATION_COLLEAGUES`: a JSON list of `{"email", "password"}`), never on
the command line; timings in `WORKSTATION_COLLEAGUES_<FIELD>` variables (see `Config`). Errors never end the
program: a 401 signs in again, a 403/404/409 skips that piece of work, an unreachable server is retried with
backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import uuid
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from typing import Any, Awaitable, Mapping

import httpx

from workstation import protocol

log = logging.getLogger(__name__)

CREDENTIALS_ENV = "WORKSTATION_COLLEAGUES"
ENV_PREFIX = "WORKSTATION_COLLEAGUES_"
# The desktop repeats "typing" at most every ~4 s while the composer changes (the server's ttl is 8 s).
TYPING_REPEAT = 4.0
# The server sends a keep-alive at least every 15 s: a stream silent for longer than this is dead.
EVENTS_READ_TIMEOUT = 45.0
# Messages kept per conversation (enough to answer the customer's latest turn).
KEEP_MESSAGES = 8


@dataclass(frozen=True)
class Config:
    """Timings in seconds; a (low, high) pair is a random pick between them. Each field can be set with
    WORKSTATION_COLLEAGUES_<FIELD> ("4,15" for a pair, "0.4" for a number)."""

    reply_delay: tuple[float, float] = (4.0, 15.0)  # from a customer's message until opening the conversation
    viewing: tuple[float, float] = (1.0, 3.0)  # reading before starting to type
    typing: tuple[float, float] = (2.0, 6.0)
    resolve_probability: float = 0.4  # after a reply, how often the agent resolves the conversation
    resolve_delay: tuple[float, float] = (5.0, 20.0)
    idle_resolve: float = 150.0  # an answered conversation quiet for this long is resolved (0: never)
    away_every: tuple[float, float] = (120.0, 300.0)  # time between breaks (0: no breaks)
    away_for: tuple[float, float] = (20.0, 60.0)
    shift_seconds: float = 180.0  # the first agent's shift ends after this (0: never)
    off_shift: float = 90.0  # and they come back after this
    poll_seconds: float = 5.0  # sync at least this often, pokes or not

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Config":
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            raw = (env.get(name) or "").strip()
            if not raw:
                continue
            try:
                numbers = [max(0.0, float(part)) for part in raw.split(",")]
            except ValueError:
                raise ValueError(f"{name}: expected seconds like 4,15 (got {raw!r})") from None
            if isinstance(f.default, tuple):
                low, high = (numbers * 2)[:2]
                values[f.name] = (min(low, high), max(low, high))
            else:
                values[f.name] = numbers[0]
        return cls(**values)


def credentials_from_env(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(email, password) of each agent to simulate, from WORKSTATION_COLLEAGUES."""
    raw = env.get(CREDENTIALS_ENV, "")
    try:
        items = json.loads(raw) if raw else []
        found = [(str(item["email"]), str(item["password"])) for item in items]
    except (ValueError, TypeError, KeyError):
        raise ValueError(f"{CREDENTIALS_ENV} must be a JSON list of {{\"email\", \"password\"}}") from None
    return found


# -- what they say -----------------------------------------------------------------------------------------
_ES_CHARS = set("¿¡ñáéíóú")
_ES_WORDS = {
    "hola", "que", "qué", "el", "la", "los", "las", "de", "del", "mi", "por", "para", "gracias", "pedido", "es",
    "y", "con", "una", "un", "no", "me", "os", "lo", "se", "tenéis", "buenas", "buenos", "cuánto", "cómo",
    "dónde", "está", "hace", "quiero", "puedo", "envío", "todavía", "muchas", "días",
}
_EN_WORDS = {
    "the", "hi", "hello", "my", "is", "it", "you", "your", "and", "to", "of", "i", "thanks", "thank", "order",
    "what", "how", "can", "do", "does", "please", "hasn't", "i'm", "it's", "on", "in", "for", "any", "there",
    "want", "just", "still", "days",
}


def language_of(text: str) -> str:
    """"es" or "en": a customer's language, guessed from what they wrote (Spanish when unsure)."""
    lowered = text.lower()
    words = re.findall(r"[a-záéíóúñü']+", lowered)
    spanish = sum(w in _ES_WORDS for w in words) + 2 * sum(ch in _ES_CHARS for ch in lowered)
    english = sum(w in _EN_WORDS for w in words)
    return "en" if english > spanish else "es"


# Cues match at the start of a word; the topic with most cues wins, ties going to the earlier one (a
# complaint about an order is a complaint).
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("complaint", ("molest", "rota", "roto", "tercera vez", "lluvia", "solución", "hay alguien", "😡",
                   "disappoint", "smashed", "third time", "rain", "sorted", "anyone there")),
    ("warranty", ("garantía", "no enciende", "dejado de funcionar", "batería", "warranty", "turn on",
                  "stopped working", "battery")),
    ("return", ("devol", "cambiar", "talla", "return", "swap", "size", "refund")),
    ("order_status", ("pedido", "seguimiento", "dónde", "llegado", "order", "tracking", "arrived", "where")),
    ("shipping", ("envío", "envíos", "franja", "canarias", "regalo", "ship", "delivery", "slot", "gift")),
    ("prices", ("cuánto cuesta", "precio", "descuento", "iva", "how much", "price", "discount", "vat")),
    ("hours", ("hora", "horario", "abren", "abrís", "domingo", "festivos", "open", "hours", "sunday", "holiday")),
    ("compliment", ("gracias", "maravilla", "genial", "recomend", "rapidez", "antes de lo previsto", "thank",
                    "brilliant", "great", "recommend", "amazing", "earlier than expected")),
)

REPLIES: dict[str, dict[str, tuple[str, ...]]] = {
    "hours": {
        "es": ("¡Hola, {name}! La tienda del centro abre de lunes a sábado de 10:00 a 21:00, y los domingos de "
               "11:00 a 15:00.",
               "Hola {name}, atendemos de 9:00 a 20:00 de lunes a viernes y de 10:00 a 14:00 los sábados. En "
               "festivos, solo por aquí."),
        "en": ("Hi {name}! The downtown store is open Monday to Saturday 10am–9pm, and Sundays 11am–3pm.",
               "Hello {name}, we're here 9am–8pm Monday to Friday and 10am–2pm on Saturdays. On bank holidays, "
               "only on this chat."),
    },
    "order_status": {
        "es": ("Hola {name}, he revisado tu pedido{order}: salió ayer del almacén y te llegará en 24–48 horas. "
               "Ahora te paso el enlace de seguimiento.",
               "Gracias por esperar, {name}. Tu pedido{order} está en reparto hoy; si no lo recibes antes de las "
               "20:00, escríbenos y lo reclamamos a la agencia."),
        "en": ("Hi {name}, I've checked your order{order}: it left our warehouse yesterday and should reach you "
               "within 24–48 hours. I'll send you the tracking link in a moment.",
               "Thanks for waiting, {name}. Your order{order} is out for delivery today; if it hasn't arrived by "
               "8pm, let us know and we'll chase the courier."),
    },
    "prices": {
        "es": ("Hola {name}, el precio de la web ya incluye el IVA. Esta semana además tienes un 10 % de descuento "
               "con el código HOLA10.",
               "¡Buenas, {name}! El precio de la web es el correcto; si compras dos, te descontamos un 15 % en la "
               "segunda unidad."),
        "en": ("Hi {name}, the price on the website already includes VAT. This week there's also 10% off with the "
               "code HELLO10.",
               "Hello {name}! The website price is right; if you buy two, we take 15% off the second one."),
    },
    "shipping": {
        "es": ("Hola {name}, sí, enviamos a toda España, también a Canarias y Baleares. A la península tarda "
               "24–48 h y es gratis a partir de 50 €.",
               "¡Hola, {name}! El envío estándar tarda de 2 a 3 días laborables, y al hacer el pedido puedes "
               "elegir franja de mañana o de tarde."),
        "en": ("Hi {name}, yes, we ship to the UK and Ireland; delivery takes 2–4 working days and it's free "
               "over £50.",
               "Hello {name}! Standard delivery takes 2–3 working days, and you can pick a morning or afternoon "
               "slot at checkout."),
    },
    "complaint": {
        "es": ("Siento mucho lo ocurrido, {name}. Ya he abierto una incidencia{order} y te enviamos un repuesto "
               "sin coste; te llegará en 48 h.",
               "{name}, lamento de verdad las molestias. Me encargo yo: ¿me mandas una foto del producto y del "
               "embalaje para tramitar la reposición hoy mismo?"),
        "en": ("I'm really sorry about this, {name}. I've opened a case{order} and we'll send you a replacement "
               "free of charge within 48 hours.",
               "{name}, I'm truly sorry for the trouble. I'll handle this myself: could you send me a photo of the "
               "item and the packaging so I can arrange a replacement today?"),
    },
    "warranty": {
        "es": ("Hola {name}, eso lo cubre la garantía. Te mando por aquí una etiqueta de envío gratuita y, en "
               "cuanto lo recibamos, lo reparamos o lo cambiamos.",
               "Gracias por avisar, {name}. La garantía cubre también la batería durante 2 años; con el ticket "
               "de compra tramitamos el cambio directamente."),
        "en": ("Hi {name}, that's covered by the warranty. I'll send you a free shipping label here, and as soon "
               "as it reaches us we'll repair or replace it.",
               "Thanks for letting us know, {name}. The warranty covers the battery too for 2 years; with your "
               "receipt we can swap it straight away."),
    },
    "return": {
        "es": ("¡Claro, {name}! Tienes 30 días para devolverlo o cambiarlo. Te envío ahora la etiqueta de "
               "devolución; el reembolso incluye los gastos de envío.",
               "Hola {name}, sin problema: puedes cambiarlo por otro color o talla en cualquier tienda, o te lo "
               "recogemos en casa gratis."),
        "en": ("Of course, {name}! You have 30 days to return or exchange it. I'm sending you the return label "
               "now; the refund includes shipping.",
               "Hi {name}, no problem: you can swap it for another colour or size in any store, or we'll collect "
               "it from your home for free."),
    },
    "compliment": {
        "es": ("¡Muchas gracias, {name}! Nos alegra un montón leerte; se lo paso al equipo 😊",
               "¡Qué bien, {name}! Gracias por contárnoslo, nos has alegrado el día 🙌"),
        "en": ("Thank you so much, {name}! Lovely to hear; I'll pass it on to the team 😊",
               "That's great, {name}! Thanks for telling us, you've made our day 🙌"),
    },
    "general": {
        "es": ("Hola {name}, gracias por escribirnos. Lo reviso ahora mismo y te digo algo en unos minutos.",
               "¡Hola, {name}! Me ocupo yo de tu consulta; dame un momento que lo compruebo."),
        "en": ("Hi {name}, thanks for getting in touch. I'm looking into it now and will get back to you in a few "
               "minutes.",
               "Hello {name}! I'll take care of this; give me a moment to check."),
    },
    # The customer wrote again after our answer, about nothing we recognise.
    "follow_up": {
        "es": ("Entendido, {name}. Lo dejo anotado y te confirmo en cuanto lo tenga.",
               "Perfecto, {name}, gracias por el dato. Lo reviso y te digo."),
        "en": ("Got it, {name}. I've noted it and will confirm as soon as I have it.",
               "Perfect, {name}, thanks for the detail. I'll check and get back to you."),
    },
}

# The case type a conversation about each topic is resolved with (resolving asks for one).
CASE_TYPES = {
    "hours": "information.query", "order_status": "information.query", "prices": "information.query",
    "shipping": "information.query", "complaint": "incident.complaint", "warranty": "postsale.warranty",
    "return": "postsale.return", "compliment": "incident.compliment", "general": "information.request",
    "follow_up": "information.request",
}

_ORDER = re.compile(r"#[A-Z]\d{4,}")


_CUES = tuple((topic, tuple(re.compile(r"(?<!\w)" + re.escape(cue)) for cue in cues)) for topic, cues in TOPICS)


def topic_of(text: str) -> str:
    lowered = text.lower()
    best, best_hits = "general", 0
    for topic, cues in _CUES:
        hits = sum(1 for cue in cues if cue.search(lowered))
        if hits > best_hits:
            best, best_hits = topic, hits
    return best


def compose_reply(texts: list[str], customer_name: str, *, follow_up: bool,
                  rng: random.Random) -> tuple[str, str, str]:
    """A short answer to the customer's latest messages: (text, language, topic)."""
    joined = "\n".join(texts)
    language = language_of(joined)
    topic = topic_of(joined)
    if topic == "general" and follow_up:
        topic = "follow_up"
    template = rng.choice(REPLIES[topic][language])
    first = (customer_name or "").split()
    name = first[0] if first and not first[0].lstrip("+").isdigit() else ""
    if not name:  # no usable name: leave it out and keep the sentence whole
        template = re.sub(r",? \{name\}|\{name\},? ?", "", template)
        template = template[:1].upper() + template[1:]
    order = _ORDER.search(joined)
    text = template.format(name=name, order=f" {order.group(0)}" if order else "")
    return text, language, topic


# -- talking to the server ---------------------------------------------------------------------------------
class Unreachable(Exception):
    """The server could not be reached or failed (5xx), or signing in failed: back off and try again."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.retry_after = retry_after


class Backoff:
    def __init__(self, first: float = 0.5, most: float = 10.0) -> None:
        self.first, self.most = first, most
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def wait(self, who: str, why: Exception) -> None:
        delay = getattr(why, "retry_after", None) or self.delay
        # Briefly: the first failure of a spell is a warning, the retries that follow are debug detail.
        log.log(logging.WARNING if self.delay == self.first else logging.DEBUG,
                "%s: %s; trying again in %.1fs", who, why, delay)
        await asyncio.sleep(delay)
        self.delay = min(self.most, self.delay * 2)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class State:
    """What a simulated agent remembers from the change log: the conversations that are not resolved, the last
    few messages of each, customers' names and the agents."""

    def __init__(self) -> None:
        self.agents: dict[int, dict] = {}
        self.customers: dict[int, str] = {}
        self.conversations: dict[int, dict] = {}
        self.messages: dict[int, dict[int, tuple[str, int | None, str]]] = {}

    def apply(self, page: dict) -> None:
        for agent in page.get("agents", []):
            self.agents[agent["id"]] = agent
        for customer in page.get("customers", []):
            self.customers[customer["id"]] = customer.get("display_name", "")
        for conversation in page.get("conversations", []):
            self.conversations[conversation["id"]] = conversation
        for message in page.get("messages", []):
            box = self.messages.setdefault(message["conversation_id"], {})
            box[message["id"]] = (message["direction"], message.get("author_agent_id"), message.get("text", ""))
            if len(box) > KEEP_MESSAGES:
                for old in sorted(box)[:-KEEP_MESSAGES]:
                    del box[old]
        for conversation in page.get("conversations", []):
            if conversation["status"] == "resolved":  # nothing more to do there (a reopening syncs it again)
                self.conversations.pop(conversation["id"], None)
                self.messages.pop(conversation["id"], None)

    def prune(self) -> None:
        """Drops messages of conversations we no longer hold (resolved ones), once a sync is complete."""
        for conversation_id in [c for c in self.messages if c not in self.conversations]:
            del self.messages[conversation_id]

    def customer_texts(self, conversation_id: int) -> list[str]:
        box = self.messages.get(conversation_id, {})
        return [box[k][2] for k in sorted(box) if box[k][0] == "in"]

    def latest_turn(self, conversation_id: int) -> tuple[list[str], bool]:
        """The customer's messages since the team's last reply, and whether there was such a reply."""
        box = self.messages.get(conversation_id, {})
        texts: list[str] = []
        answered = False
        for message_id in sorted(box):
            direction, _, text = box[message_id]
            if direction == "out":
                texts, answered = [], True
            else:
                texts.append(text)
        return texts, answered


class Colleague:
    """One simulated agent: an event stream, a work loop and one task per conversation being handled."""

    def __init__(self, server: str, email: str, password: str, config: Config, rng: random.Random, *,
                 shift_worker: bool = False, language: str = "es") -> None:
        self.email = email
        self._password = password
        self.config = config
        self.rng = rng
        self.shift_worker = shift_worker
        self.language = language
        self.http = httpx.AsyncClient(base_url=server.rstrip("/"), timeout=httpx.Timeout(15.0, connect=5.0))
        self.name = email
        self.id: int | None = None
        self._token: str | None = None
        self._sign_in_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self.cursor = 0
        self.epoch = ""
        self.state = State()
        self.changed = asyncio.Event()
        self.tasks: dict[int, asyncio.Task] = {}
        self.desk = asyncio.Lock()  # one conversation at a time gets read, typed and answered
        self._refused: dict[int, int] = {}  # conversation → version whose resolving was refused: not again
        self.status = "offline"
        self._status_stamp: datetime | None = None
        self.return_at: float | None = None  # when to be available again after a break or a shift
        self.next_break: float | None = None
        self.shift_end: float | None = None

    # -- HTTP -----------------------------------------------------------------------------------------------
    async def _sign_in(self) -> str:
        async with self._sign_in_lock:
            if self._token:
                return self._token
            try:
                r = await self.http.post("/v1/session", json={"email": self.email, "password": self._password})
            except httpx.HTTPError as exc:
                raise Unreachable(f"sign-in failed ({type(exc).__name__})") from None
            if r.status_code == 429:
                raise Unreachable("sign-in throttled", retry_after=float(r.headers.get("Retry-After") or 30))
            if r.status_code != 200:
                raise Unreachable(f"sign-in refused ({r.status_code})", retry_after=30.0)
            body = r.json()
            self._token = body["token"]
            self.id, self.name = body["agent"]["id"], body["agent"]["name"]
            log.info("%s signed in", self.name)
            return self._token

    def _forget(self, token: str) -> None:
        if self._token == token:
            self._token = None

    async def call(self, method: str, path: str, *, body: dict | None = None, params: dict | None = None,
                   key: str | None = None, timeout: float | None = None) -> httpx.Response:
        """One request with the session token; a 401 signs in again once. Answers below 500 are returned."""
        for attempt in (1, 2):
            token = await self._sign_in()
            headers = {"Authorization": f"Bearer {token}"}
            if key:
                headers[protocol.IDEMPOTENCY_HEADER] = key
            try:
                r = await self.http.request(method, path, json=body, params=params, headers=headers,
                                            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT)
            except httpx.HTTPError as exc:
                raise Unreachable(f"{method} {path} failed ({type(exc).__name__})") from None
            if r.status_code == 401 and attempt == 1:
                log.info("%s: the session ended; signing in again", self.name)
                self._forget(token)
                continue
            if r.status_code >= 500:
                raise Unreachable(f"{method} {path} answered {r.status_code}")
            return r
        return r

    async def sync(self) -> None:
        """Delta sync from our cursor; a reset (or another database) starts over from 0."""
        async with self._sync_lock:
            while True:
                r = await self.call("GET", "/v1/sync", params={"after": self.cursor, "limit": 500})
                if r.status_code != 200:
                    raise Unreachable(f"sync answered {r.status_code}")
                page = r.json()
                epoch = page.get("epoch") or ""
                if self.cursor and (page.get("reset") or (epoch and self.epoch and epoch != self.epoch)):
                    log.info("%s: the change log starts over; syncing from the beginning", self.name)
                    self.state, self.cursor, self.epoch = State(), 0, epoch
                    continue
                self.epoch = epoch or self.epoch
                self.state.apply(page)
                self.cursor = page["next_after"]
                if not page.get("has_more"):
                    break
            self.state.prune()
        self._adopt_status()

    async def presence(self, conversation_id: int, state: str) -> None:
        try:
            await self.call("POST", f"/v1/conversations/{conversation_id}/presence", body={"state": state},
                            timeout=5.0)
        except Unreachable:
            pass  # presence is a courtesy; the next one will do

    # -- status ---------------------------------------------------------------------------------------------
    def _own_status(self, agent: dict) -> None:
        self.status = agent["status"]
        self._status_stamp = _when(agent.get("status_changed_at"))

    def _adopt_status(self) -> None:
        """A status set by someone else (a lead, or the server after a disconnect) is respected; we come back
        on our own later, as after a break or a shift."""
        me = self.state.agents.get(self.id) if self.id is not None else None
        if me is None or me["status"] == self.status:
            return
        stamp = _when(me.get("status_changed_at"))
        if stamp is None or (self._status_stamp is not None and stamp <= self._status_stamp):
            return  # older than our own change (a sync that read before it)
        log.info("%s: status set to %s by the team", self.name, me["status"])
        self.status, self._status_stamp = me["status"], stamp
        now = asyncio.get_running_loop().time()
        if self.status == "available":
            self.return_at = None
            self._plan_break(now)
        else:
            self.return_at = now + (self._pick(self.config.away_for) if self.status == "away"
                                    else self.config.off_shift)

    async def set_status(self, status: str) -> bool:
        r = await self.call("PUT", f"/v1/agents/{self.id}/status", body={"status": status})
        if r.status_code != 200:
            log.warning("%s: status %s refused (%s)", self.name, status, r.status_code)
            return False
        self._own_status(r.json())
        log.info("%s is %s", self.name, status)
        return True

    def _pick(self, bounds: tuple[float, float]) -> float:
        return self.rng.uniform(*bounds)

    def _plan_break(self, now: float) -> None:
        every = self.config.away_every
        self.next_break = now + self._pick(every) if every[1] > 0 else None

    async def mood(self) -> None:
        """Breaks, the end of a shift and coming back, each when its time has come."""
        now = asyncio.get_running_loop().time()
        if self.status == "available":
            if self.shift_end is not None and now >= self.shift_end:
                await self.end_shift()
            elif self.next_break is not None and now >= self.next_break:
                if await self.set_status("away"):
                    self.next_break = None
                    self.return_at = now + self._pick(self.config.away_for)
                else:
                    self._plan_break(now)
        elif self.return_at is not None and now >= self.return_at:
            if await self.set_status("available"):
                self.return_at = None
                self._plan_break(now)
                if self.shift_worker and self.config.shift_seconds > 0 and self.shift_end is None:
                    self.shift_end = now + self.config.shift_seconds
                self.changed.set()
            else:
                self.return_at = now + 5.0

    async def end_shift(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        reason = "Fin de turno" if self.language == "es" else "End of shift"
        r = await self.call("POST", f"/v1/agents/{self.id}/handoff", body={"go_offline": True, "reason": reason},
                            key=str(uuid.uuid4()))
        now = asyncio.get_running_loop().time()
        self.shift_end = None
        if r.status_code != 200:
            log.warning("%s: hand-off refused (%s)", self.name, r.status_code)
            return
        result = r.json()
        self._own_status(result["agent"])
        self.return_at = now + self.config.off_shift
        log.info("%s ended their shift: %d conversation(s) back to the queue", self.name, len(result["moved"]))

    def _next_deadline(self) -> float | None:
        if self.status == "available":
            found = [t for t in (self.shift_end, self.next_break) if t is not None]
        else:
            found = [self.return_at] if self.return_at is not None else []
        return min(found) if found else None

    # -- the work -------------------------------------------------------------------------------------------
    def _mine(self, conversation_id: int, *, waiting: bool) -> dict | None:
        conversation = self.state.conversations.get(conversation_id)
        if conversation is None or conversation["assignee_id"] != self.id or conversation["status"] != "open":
            return None
        if waiting and not conversation.get("waiting_since"):
            return None
        return conversation

    def scan(self) -> None:
        """Starts handling each open conversation of ours whose customer waits (and tidies quiet ones)."""
        if self.status != "available":
            return
        now = datetime.now(timezone.utc)
        for conversation_id, conversation in list(self.state.conversations.items()):
            if conversation_id in self.tasks or self._mine(conversation_id, waiting=False) is None:
                continue
            if conversation.get("waiting_since"):
                self._start(conversation_id, self.answer(conversation_id))
            elif self.config.idle_resolve > 0 and self._refused.get(conversation_id) != conversation["version"]:
                last = _when(conversation.get("last_message_at"))
                if last is not None and (now - last).total_seconds() >= self.config.idle_resolve:
                    self._start(conversation_id, self.resolve(conversation_id, why="answered and quiet"))

    def _start(self, conversation_id: int, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._guarded(conversation_id, work))
        self.tasks[conversation_id] = task

        def done(finished: asyncio.Task) -> None:
            if self.tasks.get(conversation_id) is finished:
                del self.tasks[conversation_id]
            self.changed.set()  # look again: the customer may have written meanwhile

        task.add_done_callback(done)

    async def _guarded(self, conversation_id: int, work: Awaitable[None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Unreachable as exc:
            log.warning("%s: conversation %s left for later: %s", self.name, conversation_id, exc)
        except Exception:
            log.exception("%s: handling conversation %s failed", self.name, conversation_id)

    async def answer(self, conversation_id: int) -> None:
        await asyncio.sleep(self._pick(self.config.reply_delay))
        replied = False
        async with self.desk:
            await self.sync()
            if self.status != "available" or self._mine(conversation_id, waiting=True) is None:
                return
            await self.presence(conversation_id, "viewing")
            try:
                await asyncio.sleep(self._pick(self.config.viewing))
                loop = asyncio.get_running_loop()
                until = loop.time() + self._pick(self.config.typing)
                while True:
                    await self.presence(conversation_id, "typing")
                    left = until - loop.time()
                    if left <= 0:
                        break
                    await asyncio.sleep(min(TYPING_REPEAT, left))
                if self.status == "available" and self._mine(conversation_id, waiting=True) is not None:
                    replied = await self.reply(conversation_id)
            finally:
                if not asyncio.current_task().cancelling():
                    await self.presence(conversation_id, "left")
        if replied and self.rng.random() < self.config.resolve_probability:
            await asyncio.sleep(self._pick(self.config.resolve_delay))
            await self.resolve(conversation_id, why="answered")

    async def reply(self, conversation_id: int) -> bool:
        texts, answered = self.state.latest_turn(conversation_id)
        conversation = self.state.conversations[conversation_id]
        customer = self.state.customers.get(conversation["customer_id"], "")
        text, language, topic = compose_reply(texts, customer, follow_up=answered, rng=self.rng)
        key = str(uuid.uuid4())  # the same key for every attempt: the server stores the reply once
        backoff = Backoff(first=0.5, most=4.0)
        for attempt in range(5):
            try:
                r = await self.call("POST", f"/v1/conversations/{conversation_id}/messages", body={"text": text},
                                    key=key)
            except Unreachable as exc:
                if attempt == 4:
                    raise
                await backoff.wait(self.name, exc)
                continue
            if r.status_code in (200, 201):
                # Our state learns of the reply from the next sync (each answer syncs before it looks).
                log.info("%s answered conversation %s (%s, %s)", self.name, conversation_id, language, topic)
                return True
            log.info("%s: reply to conversation %s refused (%s); moving on", self.name, conversation_id,
                     r.status_code)
            return False
        return False

    async def resolve(self, conversation_id: int, *, why: str) -> None:
        await self.sync()
        conversation = self._mine(conversation_id, waiting=False)
        if conversation is None or conversation.get("waiting_since") or self.status != "available":
            return
        body: dict[str, Any] = {"status": "resolved", "expected_version": conversation["version"]}
        if not conversation.get("case_type"):  # what the conversation was about, unless someone said already
            body["case_type"] = CASE_TYPES[topic_of("\n".join(self.state.customer_texts(conversation_id)))]
        r = await self.call("PATCH", f"/v1/conversations/{conversation_id}", body=body, key=str(uuid.uuid4()))
        if r.status_code == 200:
            self.state.apply({"conversations": [r.json()]})
            log.info("%s resolved conversation %s (%s)", self.name, conversation_id, why)
        elif r.status_code == 409:
            log.info("%s: conversation %s changed meanwhile; leaving it", self.name, conversation_id)
            await self.sync()
            current = r.json().get("conversation")
            if current and current.get("version", 0) >= self.state.conversations.get(
                    conversation_id, {}).get("version", 0):
                self.state.apply({"conversations": [current]})
        else:
            self._refused[conversation_id] = conversation["version"]
            log.info("%s: resolving conversation %s refused (%s)", self.name, conversation_id, r.status_code)

    # -- the loops ------------------------------------------------------------------------------------------
    async def follow_events(self) -> None:
        """Keeps the event stream open (the server counts us connected) and wakes the work loop on changes."""
        backoff = Backoff()
        while True:
            try:
                token = await self._sign_in()
                async with self.http.stream("GET", "/v1/events", headers={"Authorization": f"Bearer {token}"},
                                            timeout=httpx.Timeout(10.0, read=EVENTS_READ_TIMEOUT)) as r:
                    if r.status_code == 401:
                        self._forget(token)
                        await asyncio.sleep(0.2)
                        continue
                    if r.status_code != 200:
                        raise Unreachable(f"event stream answered {r.status_code}")
                    backoff.reset()
                    self.changed.set()  # catch up with whatever happened while we were away
                    event = ""
                    async for line in r.aiter_lines():
                        if line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:") and event == "change":
                            self.changed.set()
                        elif not line:
                            event = ""
                # The server ended the stream (a restart, or our session ended): connect again.
                await asyncio.sleep(0.2)
            except (Unreachable, httpx.HTTPError) as exc:
                await backoff.wait(f"{self.name} (events)", exc)

    async def start(self) -> None:
        """Signs in and becomes available, however long the server takes to be there."""
        backoff = Backoff()
        while True:
            try:
                await self._sign_in()
                if await self.set_status("available"):
                    break
                await asyncio.sleep(5.0)
            except Unreachable as exc:
                await backoff.wait(self.name, exc)
        now = asyncio.get_running_loop().time()
        self._plan_break(now)
        if self.shift_worker and self.config.shift_seconds > 0:
            self.shift_end = now + self.config.shift_seconds

    async def work(self) -> None:
        await self.start()
        backoff = Backoff()
        loop = asyncio.get_running_loop()
        while True:
            wait = self.config.poll_seconds
            deadline = self._next_deadline()
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - loop.time()))
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=max(0.05, wait))
            except TimeoutError:
                pass
            self.changed.clear()
            try:
                await self.sync()
                await self.mood()
                self.scan()
                backoff.reset()
            except Unreachable as exc:
                await backoff.wait(self.name, exc)
            except Exception:
                log.exception("%s: unexpected error; carrying on", self.name)
                await asyncio.sleep(1.0)

    async def run(self) -> None:
        events = asyncio.ensure_future(self.follow_events())
        try:
            await self.work()
        finally:
            events.cancel()
            for task in list(self.tasks.values()):
                task.cancel()
            await asyncio.gather(events, *self.tasks.values(), return_exceptions=True)

    async def sign_off(self) -> None:
        """Best effort on the way out: offline, and the session ended."""
        token = self._token
        if not token or self.id is None:
            return
        headers = {"Authorization": f"Bearer {token}"}
        try:
            await self.http.put(f"/v1/agents/{self.id}/status", json={"status": "offline"}, headers=headers,
                                timeout=1.0)
            await self.http.delete("/v1/session", headers=headers, timeout=1.0)
        except httpx.HTTPError:
            pass


async def run(server: str, credentials: list[tuple[str, str]], config: Config, *, stop: asyncio.Event,
              seed: int | None = None, language: str = "es") -> None:
    """Simulates every agent in `credentials` until `stop` is set; the first one works in shifts."""
    colleagues = [
        Colleague(server, email, password, config, random.Random(None if seed is None else seed * 1009 + index),
                  shift_worker=index == 0, language=language)
        for index, (email, password) in enumerate(credentials)
    ]
    log.info("simulating %d colleague(s) against %s", len(colleagues), server)
    tasks = [asyncio.ensure_future(c.run()) for c in colleagues]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await asyncio.wait_for(asyncio.gather(*(c.sign_off() for c in colleagues), return_exceptions=True),
                                   2.0)
        except TimeoutError:
            pass
        for c in colleagues:
            await c.http.aclose()
        log.info("colleagues stopped")
