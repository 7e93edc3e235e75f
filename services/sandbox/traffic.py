"""Synthetic customer traffic in Spanish and English for the channel sandbox (demo, load, tests)."""

from __future__ import annotations

import asyncio
import logging
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Awaitable, Callable

logger = logging.getLogger(__name__)

SendInbound = Callable[[str, str, str], Awaitable[Any]]
# (channel "messenger" or "instagram", public comment?, customer id, name, text): see meta_api.send_inbound.
SendMeta = Callable[[str, bool, str, str, str], Awaitable[Any]]
# (address, name, subject, text, in_reply_to Message-ID or None): see mail_server.MailSandbox.send_inbound.
SendEmail = Callable[[str, str, str, str, "str | None"], Awaitable[Any]]


@dataclass(frozen=True)
class Persona:
    name: str
    wa_id: str  # digits only, as WhatsApp reports it
    language: str  # "es" or "en"
    # Set: this customer writes on Telegram (their user id, which is their private chat's id) when the
    # sandbox emulates it too.
    telegram_chat_id: int | None = None
    # Set: this customer writes on Messenger (their page-scoped id) or Instagram (their Instagram-scoped id)
    # when the sandbox emulates them; `comments`: publicly, under the page's post or the account's media.
    messenger_psid: str | None = None
    instagram_igsid: str | None = None
    comments: bool = False
    # Set: this customer is on X (their @username) and, when the sandbox emulates X, mentions the brand publicly or
    # writes it DMs there.
    x_username: str | None = None
    # Set: this customer writes by email (from this address) when the sandbox emulates the support mailbox.
    email_address: str | None = None


@dataclass(frozen=True)
class _EmailThread:
    """The newest mail the brand sent one customer: what their answer quotes and replies to."""
    message_id: str
    subject: str
    text: str
    sender: str


# Numbers sit in ranges reserved for fiction or tests where one exists (US 555-01xx, UK 07700 900xxx).
PERSONAS: tuple[Persona, ...] = (
    Persona("Lucía Fernández", "34600100201", "es"),
    Persona("Javier Muñoz", "34600100202", "es", telegram_chat_id=5120100202),
    Persona("María José Peña", "34600100203", "es", x_username="mjpena_"),
    Persona("Andrés Gómez", "5215550100204", "es", messenger_psid="6780462100100204"),
    Persona("Sofía Ramírez", "5215550100205", "es", x_username="sofiramirez"),
    Persona("Diego Castaño", "573000100206", "es", telegram_chat_id=5120100206),
    Persona("Valentina Ruiz", "5491100100207", "es", email_address="valentina.ruiz@example.com"),
    Persona("José Ángel Ibáñez", "34600100208", "es", email_address="joseangel.ibanez@example.net"),
    Persona("Carmen Núñez", "34600100209", "es", messenger_psid="6780462100100209", comments=True),
    Persona("Pablo Ortega", "56900100210", "es"),
    Persona("Camila Herrera", "51900100211", "es", telegram_chat_id=5120100211),
    Persona("Emily Carter", "15555550121", "en", instagram_igsid="1092310200900121"),
    Persona("James O'Connor", "447700900122", "en", email_address="james.oconnor@example.org"),
    Persona("Priya Patel", "447700900123", "en", telegram_chat_id=5120100123),
    Persona("Michael Brown", "15555550124", "en", x_username="mikebrown_uk"),
    Persona("Zoë Lambert", "447700900125", "en", x_username="zoelambert"),
    Persona("Daniel Kim", "15555550126", "en", email_address="daniel.kim@example.com"),
    Persona("Olivia Martin", "61400100127", "en", instagram_igsid="1092310200900127", comments=True),
    Persona("Liam Walsh", "353870100128", "en", telegram_chat_id=5120100128),
    Persona("Chloé Nguyen", "15555550129", "en"),
)

PRODUCTS = {
    "es": ("la cafetera Brava 2", "el altavoz Nómada", "la freidora de aire Cálida", "el patinete Ruta 350",
           "la mochila Montaña 30 L", "el reloj Pulso S"),
    "en": ("the Brava 2 coffee maker", "the Nomad speaker", "the Calida air fryer", "the Ruta 350 scooter",
           "the Montaña 30 L backpack", "the Pulso S watch"),
}

# Each category: openers, then follow-ups the same customer may send right after.
MESSAGES: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "hours": {
        "es": (
            ("Hola, ¿a qué hora abrís la tienda del centro los sábados?",
             "Buenas tardes, ¿cuál es el horario de atención al cliente?",
             "¿Abren el domingo? Quería pasar a recoger un pedido"),
            ("Es que trabajo hasta las 19:00 😅", "¿Y en festivos?"),
        ),
        "en": (
            ("Hi, what time does the downtown store open on Saturdays?",
             "Hello! What are your customer service hours?",
             "Are you open on Sunday? I need to pick up an order"),
            ("I work until 7pm so that matters 😅", "And on bank holidays?"),
        ),
    },
    "order_status": {
        "es": (
            ("Hola, ¿me podéis decir dónde está mi pedido {order}?",
             "Buenos días. Hice un pedido hace {days} días y todavía no me ha llegado",
             "¿Cómo va mi pedido? El número es {order}"),
            ("El número de pedido es {order}", "Lo necesito para el cumpleaños de mi hija 🎂",
             "El seguimiento lleva {days} días sin cambiar"),
        ),
        "en": (
            ("Hi, can you tell me where my order {order} is?",
             "Good morning. I placed an order {days} days ago and it still hasn't arrived",
             "Any news on my order? It's {order}"),
            ("Order number is {order}", "I need it for my daughter's birthday 🎂",
             "Tracking hasn't moved in {days} days"),
        ),
    },
    "prices": {
        "es": (
            ("¿Cuánto cuesta {product}?", "¿Tenéis algún descuento en {product}? 💸",
             "Hola, ¿el precio de {product} incluye el IVA?"),
            ("En la web pone un precio distinto", "¿Y si compro dos?"),
        ),
        "en": (
            ("How much is {product}?", "Is there any discount on {product}? 💸",
             "Hi, does the price of {product} include VAT?"),
            ("The website shows a different price", "What if I buy two?"),
        ),
    },
    "shipping": {
        "es": (
            ("¿Hacéis envíos a Canarias?", "¿Cuánto tarda el envío a Barcelona?",
             "¿El envío es gratis a partir de cierto importe?"),
            ("Es para un regalo 🎁", "¿Se puede elegir franja horaria?"),
        ),
        "en": (
            ("Do you ship to Ireland?", "How long does delivery to Manchester take?",
             "Is shipping free above a certain amount?"),
            ("It's a gift 🎁", "Can I choose a delivery slot?"),
        ),
    },
    "complaint": {
        "es": (
            ("Estoy muy molesto, {product} llegó con la caja rota 😡",
             "Es la tercera vez que llamo y nadie me da una solución",
             "El repartidor dejó el paquete en la calle bajo la lluvia"),
            ("Quiero una solución ya", "Adjunto fotos en cuanto pueda", "¿Hola? ¿Hay alguien?"),
        ),
        "en": (
            ("Really disappointed, {product} arrived with the box smashed 😡",
             "This is the third time I'm writing and nobody has fixed this",
             "The courier left my parcel outside in the rain"),
            ("I want this sorted today", "I'll send photos as soon as I can", "Hello? Anyone there?"),
        ),
    },
    "warranty": {
        "es": (
            ("Hola, {product} ha dejado de funcionar y está en garantía. ¿Qué tengo que hacer?",
             "Compré {product} hace {months} meses y ya no enciende",
             "¿La garantía cubre la batería de {product}?"),
            ("Tengo el ticket de compra", "Pedido {order}, por si os sirve"),
        ),
        "en": (
            ("Hi, {product} stopped working and it's under warranty. What should I do?",
             "I bought {product} {months} months ago and it won't turn on anymore",
             "Does the warranty cover the battery of {product}?"),
            ("I still have the receipt", "Order {order} in case that helps"),
        ),
    },
    "return": {
        "es": (
            ("Quiero devolver {product}, no es lo que esperaba",
             "¿Cómo hago una devolución? La talla no me queda bien",
             "Hola, ¿puedo cambiar {product} por otro color?"),
            ("Todavía no lo he usado", "¿Me devolvéis también los gastos de envío?"),
        ),
        "en": (
            ("I'd like to return {product}, it's not what I expected",
             "How do I make a return? The size doesn't fit",
             "Hi, can I swap {product} for another colour?"),
            ("I haven't used it yet", "Do you refund the shipping too?"),
        ),
    },
    "compliment": {
        "es": (
            ("¡Muchas gracias! {product} es una maravilla 😍",
             "Solo quería daros las gracias, la atención de ayer fue genial 👏",
             "Me llegó el pedido antes de lo previsto, ¡qué rapidez!"),
            ("Os recomendaré a mis amigos 🙌",),
        ),
        "en": (
            ("Thank you so much! {product} is brilliant 😍",
             "Just wanted to say thanks, the help yesterday was great 👏",
             "My order arrived earlier than expected, amazing!"),
            ("I'll recommend you to my friends 🙌",),
        ),
    },
}

# Complaints and order questions dominate real queues; compliments are rare.
CATEGORY_WEIGHTS: dict[str, int] = {
    "hours": 2, "order_status": 5, "prices": 3, "shipping": 3,
    "complaint": 4, "warranty": 3, "return": 3, "compliment": 1,
}

# A satisfaction survey as a customer recognises one: a question asking for a number from 1 to 5.
SURVEY_QUESTION = re.compile(r"\b1\b\D{0,40}\b5\b")
# Most customers who answer are satisfied; the unhappy ones answer more often than the lukewarm.
SCORE_WEIGHTS: dict[int, int] = {5: 40, 4: 30, 3: 14, 2: 7, 1: 9}
SCORE_WORDS = {"es": ("uno", "dos", "tres", "cuatro", "cinco"), "en": ("one", "two", "three", "four", "five")}

# How a customer signs a mail, and how their mail client introduces the quoted mail they answer.
EMAIL_SIGN_OFFS = {"es": ("Un saludo,", "Gracias,", "Saludos,"), "en": ("Thanks,", "Best regards,", "Cheers,")}
EMAIL_QUOTE_HEADER = {"es": "El {date}, {sender} escribió:", "en": "On {date}, {sender} wrote:"}
MAX_SUBJECT_CHARS = 60
_GREETING = re.compile(r"^(hola|buenas tardes|buenos días|buenas|hi|hello|good morning)\b[\s,.!¡]*", re.IGNORECASE)


def email_subject(first_message: str) -> str:
    """A subject as a customer types one: their first sentence without the greeting, cut at a word boundary."""
    text = _GREETING.sub("", first_message.strip()).strip() or first_message.strip()
    sentence = re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0].strip()
    if len(sentence) > MAX_SUBJECT_CHARS:
        sentence = sentence[:MAX_SUBJECT_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    sentence = sentence.rstrip(".")
    first = next((i for i, ch in enumerate(sentence) if ch.isalpha()), 0)  # "¿a qué hora…" → "¿A qué hora…"
    return sentence[:first] + sentence[first:first + 1].upper() + sentence[first + 1:]


class TrafficGenerator:
    """Writes customer messages through `send_inbound(wa_id, name, text)`: a burst, then one turn per interval.
    With `send_telegram(chat_id, name, text)`, the customers who have a Telegram chat id write there instead; with
    `send_x_mention` and `send_x_dm(username, name, text)`, those on X mention the brand or DM it, one or the other;
    with `send_email(address, name, subject, text, in_reply_to)`, those with an email address write one mail per
    turn (the subject from their first message), sometimes answering in the thread of the brand's newest mail."""

    def __init__(
        self,
        send_inbound: SendInbound,
        *,
        seed: int | None = None,
        interval: tuple[float, float] = (4.0, 9.0),
        initial_conversations: int = 8,
        burst_gap: tuple[float, float] = (0.6, 2.5),
        personas: tuple[Persona, ...] = PERSONAS,
        survey_answer_rate: float = 0.6,
        survey_delay: tuple[float, float] = (3.0, 20.0),
        send_telegram: SendInbound | None = None,
        send_meta: SendMeta | None = None,
        send_x_mention: SendInbound | None = None,
        send_x_dm: SendInbound | None = None,
        send_email: SendEmail | None = None,
        email_thread_rate: float = 0.7,
    ) -> None:
        if not personas:
            raise ValueError("at least one persona is needed")
        self._send_inbound = send_inbound
        self._send_telegram = send_telegram
        self._send_meta = send_meta
        self._send_x = (send_x_mention, send_x_dm) if send_x_mention and send_x_dm else None
        # Public: the mail emulator sets it once its servers are up (mail_server.mount), after construction.
        self.send_email = send_email
        # How often a customer who got a mail from the brand answers in that thread rather than writing anew.
        self.email_thread_rate = email_thread_rate
        self._email_threads: dict[str, _EmailThread] = {}  # customer address -> the brand's newest mail to them
        self._rng = random.Random(seed)
        self.interval = interval
        self.initial_conversations = initial_conversations
        self.burst_gap = burst_gap
        self.personas = personas
        self.survey_answer_rate = survey_answer_rate
        self.survey_delay = survey_delay

    def compose(self, persona: Persona) -> list[str]:
        """One to three messages a customer writes in a row about one topic."""
        rng = self._rng
        category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
        openers, follow_ups = MESSAGES[category][persona.language]
        fields = {
            "order": f"#{rng.choice('ABCDEFGH')}{rng.randint(10000, 99999)}",
            "product": rng.choice(PRODUCTS[persona.language]),
            "days": rng.randint(3, 12),
            "months": rng.randint(2, 20),
        }
        count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        extra = rng.sample(follow_ups, min(count - 1, len(follow_ups)))
        texts = [rng.choice(openers), *extra]
        # Spanish contracts "de el" and "a el"; every product name is singular, so verbs agree.
        return [text.format(**fields).replace(" de el ", " del ").replace(" a el ", " al ") for text in texts]

    def _way_in(self, persona: Persona) -> tuple[SendInbound, str]:
        """How this customer writes: (send function, their handle on that channel)."""
        if self.send_email is not None and persona.email_address is not None:
            return (lambda _address, _name, text: self._write_email(persona, [text], survey=True)), \
                persona.email_address
        if self._send_telegram is not None and persona.telegram_chat_id is not None:
            return self._send_telegram, str(persona.telegram_chat_id)
        if self._send_x is not None and persona.x_username is not None:
            return self._rng.choice(self._send_x), persona.x_username
        meta = self._send_meta
        for channel, handle in (("messenger", persona.messenger_psid), ("instagram", persona.instagram_igsid)):
            if meta is not None and handle is not None:
                return (lambda h, name, text, c=channel: meta(c, persona.comments, h, name, text)), handle
        return self._send_inbound, persona.wa_id

    async def send_turn(self, persona: Persona | None = None) -> list[str]:
        """Sends one customer's messages; returns the texts that were handed to `send_inbound` (by email: the texts
        written together in one mail)."""
        persona = persona or self._rng.choice(self.personas)
        if self.send_email is not None and persona.email_address is not None:
            texts = self.compose(persona)
            try:
                await self._write_email(persona, texts)
            except Exception:
                logger.exception("sandbox traffic: mailing as %s failed", persona.email_address)
                return []
            return texts
        send, handle = self._way_in(persona)
        sent: list[str] = []
        for index, text in enumerate(self.compose(persona)):
            if index:
                await asyncio.sleep(self._rng.uniform(*self.burst_gap))
            try:
                await send(handle, persona.name, text)
            except Exception:
                # A failed delivery must not stop the demo's traffic.
                logger.exception("sandbox traffic: sending as %s failed", handle)
                break
            sent.append(text)
        return sent

    def email_received(self, address: str, message_id: str | None, subject: str, text: str, sender: str = "") -> None:
        """The brand mailed this customer (the mail emulator's SMTP server took it): their next mail may answer it."""
        address = address.strip().lower()
        if message_id and any(p.email_address == address for p in self.personas):
            self._email_threads[address] = _EmailThread(message_id, subject, text, sender)

    async def _write_email(self, persona: Persona, texts: list[str], *, survey: bool = False) -> Any:
        """One mail: a new thread (subject from the first message) or, when the brand has mailed them, sometimes
        (a survey answer: always) an answer in that thread quoting the brand's mail."""
        assert self.send_email is not None and persona.email_address is not None
        rng = self._rng
        thread = self._email_threads.get(persona.email_address)
        if survey:
            body = texts[0]
        else:
            first_name = persona.name.split()[0]
            body = "\n\n".join(texts) + f"\n\n{rng.choice(EMAIL_SIGN_OFFS[persona.language])}\n{first_name}"
        if thread is not None and (survey or rng.random() < self.email_thread_rate):
            subject = thread.subject if re.match(r"(?i)\s*re\s*:", thread.subject) else f"Re: {thread.subject}"
            when = format_datetime(datetime.now(UTC))
            quote = "\n".join("> " + line if line else ">" for line in thread.text.strip().splitlines())
            header = EMAIL_QUOTE_HEADER[persona.language].format(date=when, sender=thread.sender or "Support")
            return await self.send_email(persona.email_address, persona.name, subject,
                                         f"{body}\n\n{header}\n{quote}\n", thread.message_id)
        return await self.send_email(persona.email_address, persona.name, email_subject(texts[0]), body, None)

    def survey_answer(self, persona: Persona) -> str:
        """How one customer scores a satisfaction survey: mostly a digit, sometimes stars or words."""
        rng = self._rng
        score = rng.choices(list(SCORE_WEIGHTS), weights=list(SCORE_WEIGHTS.values()))[0]
        unit = ("estrella" if score == 1 else "estrellas") if persona.language == "es" else \
            ("star" if score == 1 else "stars")
        forms = (str(score), "⭐" * score, SCORE_WORDS[persona.language][score - 1].capitalize(), f"{score} {unit}")
        return rng.choices(forms, weights=(6, 2, 1, 1))[0]

    async def answer_survey(self, wa_id: str, text: str) -> str | None:
        """One of our customers (`wa_id`, or their Telegram chat id) got `text`: when it is a satisfaction survey
        they answer it, sometimes, a little later, through the same inbound path as their other messages.
        Returns the answer sent, if any."""
        persona = next((p for p in self.personas
                        if wa_id in (p.wa_id, str(p.telegram_chat_id), p.messenger_psid, p.instagram_igsid,
                                     p.email_address)), None)
        if persona is None or not SURVEY_QUESTION.search(text) or self._rng.random() >= self.survey_answer_rate:
            return None
        answer = self.survey_answer(persona)
        await asyncio.sleep(self._rng.uniform(*self.survey_delay))
        send, handle = self._way_in(persona)
        try:
            await send(handle, persona.name, answer)
        except Exception:
            logger.exception("sandbox traffic: answering a survey as %s failed", handle)
            return None
        return answer

    async def initial_burst(self) -> None:
        count = min(self.initial_conversations, len(self.personas))
        for persona in self._rng.sample(self.personas, count):
            await self.send_turn(persona)

    async def run(self) -> None:
        try:
            await self.initial_burst()
        except Exception:
            logger.exception("sandbox traffic: initial burst failed")
        while True:
            await asyncio.sleep(self._rng.uniform(*self.interval))
            try:
                await self.send_turn()
            except Exception:
                logger.exception("sandbox traffic: turn failed")
