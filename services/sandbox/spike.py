"""A crisis on demand for the demo and the tests: many distinct customers writing angrily about one topic
within a short time, sent through the sandbox's real webhook path (signed webhooks to the team server)."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Literal

logger = logging.getLogger(__name__)

SendInbound = Callable[[str, str, str], Awaitable[Any]]
Language = Literal["es", "en", "mixed"]
MAX_COUNT = 5000

# Every text is negative and names its topic with one of the default topic keywords (protocol.py).
TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "outage": {
        "es": (
            "La app no funciona desde hace un rato, ¿qué está pasando? 😡",
            "¿Está caída la web? No puedo entrar a mi cuenta y es urgente",
            "Otra vez sin servicio. Es una vergüenza",
            "No me funciona nada, ni la app ni la web. Pésimo",
            "Llevo media hora sin conexión, esto es inaceptable",
            "¿Se ha caído el sistema? No carga nada y nadie contesta",
        ),
        "en": (
            "The app is not working at all, what's going on? 😡",
            "Is the website down? I can't log in and this is urgent",
            "No service again. This is unacceptable",
            "The app and the site are not working. Terrible",
            "Your service is down for the second time today, really disappointed",
            "The app won't load and nobody answers. Awful 👎",
        ),
    },
    "fraud": {
        "es": (
            "Me han hecho un cargo no autorizado, ¿esto es un fraude? 😡",
            "He recibido un SMS de estafa en vuestro nombre y he perdido dinero",
            "No reconozco este cargo en mi tarjeta, es urgente",
            "Me han robado la cuenta, alguien ha comprado con mis datos. Fatal",
        ),
        "en": (
            "There's an unauthorized charge on my card, is this fraud? 😡",
            "I got a scam text in your name and lost money",
            "I don't recognise this charge, this is urgent",
            "My account was hacked and someone bought with my details. Awful",
        ),
    },
    "billing": {
        "es": (
            "Me habéis cobrado dos veces el mismo pedido, quiero el reembolso ya 😡",
            "La factura de este mes es el doble, es un desastre",
            "Otro cobro duplicado. Estoy harto",
            "Me han cobrado de más y nadie me responde",
        ),
        "en": (
            "You charged me twice for the same order, I want a refund now 😡",
            "My bill this month is double, it's a disaster",
            "Charged twice again. I'm fed up",
            "I was overcharged on my invoice and nobody answers",
        ),
    },
}
# Any other topic: its name in an angry message (a lead's topic whose keywords include its own name).
GENERIC = {
    "es": ("Problemas otra vez con {topic}, es una vergüenza 😡", "Lo de {topic} es inaceptable, ¿qué pasa?"),
    "en": ("Problems with {topic} again, this is unacceptable 😡", "What's going on with {topic}? Terrible"),
}
FIRST = {"es": ("Lucía", "Javier", "Marta", "Andrés", "Sofía", "Diego", "Carmen", "Pablo", "Elena", "Raúl"),
         "en": ("Emily", "James", "Priya", "Michael", "Olivia", "Daniel", "Chloé", "Liam", "Grace", "Noah")}
LAST = {"es": ("García", "Fernández", "López", "Martín", "Sánchez", "Pérez", "Gómez", "Ruiz", "Díaz", "Moreno"),
        "en": ("Smith", "Jones", "Taylor", "Brown", "Walsh", "Patel", "Kim", "Martin", "Evans", "Wilson")}
PREFIX = {"es": "346", "en": "4477"}


@dataclass(frozen=True)
class SpikeMessage:
    wa_id: str
    name: str
    text: str
    language: str


def compose(topic: str, count: int, language: Language = "es", *, seed: int | None = None) -> list[SpikeMessage]:
    """`count` messages about `topic`, each from a different customer (new numbers, unlikely to be known)."""
    if not 1 <= count <= MAX_COUNT:
        raise ValueError(f"count must be 1 to {MAX_COUNT}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[SpikeMessage] = []
    for i in range(count):
        lang = language if language != "mixed" else ("es", "en")[i % 2]
        texts = TEXTS.get(topic, {}).get(lang) or tuple(t.format(topic=topic) for t in GENERIC[lang])
        while True:
            wa_id = PREFIX[lang] + "".join(rng.choice("0123456789") for _ in range(12 - len(PREFIX[lang])))
            if wa_id not in seen:
                seen.add(wa_id)
                break
        name = f"{rng.choice(FIRST[lang])} {rng.choice(LAST[lang])}"
        out.append(SpikeMessage(wa_id, name, rng.choice(texts), lang))
    return out


async def send_spike(send_inbound: SendInbound, messages: list[SpikeMessage], seconds: float) -> int:
    """Sends the messages evenly spread over `seconds` (concurrently: a slow answer does not delay the rest);
    returns how many were delivered."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    gap = seconds / len(messages) if messages else 0.0

    async def one(index: int, message: SpikeMessage) -> bool:
        await asyncio.sleep(max(0.0, start + index * gap - loop.time()))
        try:
            answer = await send_inbound(message.wa_id, message.name, message.text)
        except Exception:
            logger.exception("sandbox spike: sending as %s failed", message.wa_id)
            return False
        return not (isinstance(answer, dict) and answer.get("delivered") is False)

    results = await asyncio.gather(*(one(i, m) for i, m in enumerate(messages)))
    delivered = sum(results)
    logger.info("sandbox spike: %d of %d messages delivered", delivered, len(messages))
    return delivered


def request(sandbox_url: str, *, topic: str, count: int, seconds: float, language: str, wait: bool = False,
            timeout: float = 120.0) -> dict:
    """Asks a running sandbox for a spike (`workstation sandbox-spike`); returns its answer."""
    import httpx

    body = {"topic": topic, "count": count, "seconds": seconds, "language": language, "wait": wait}
    response = httpx.post(sandbox_url.rstrip("/") + "/_sandbox/spike", json=body,
                          timeout=timeout + seconds if wait else timeout)
    response.raise_for_status()
    return response.json()
