"""Build the bundled SAMPLE data: feedback on "Parcelo", a fictional parcel-delivery app.

Everything here is invented. Ninety days of app-store reviews (CSV), social posts (JSONL), survey
responses with NPS/CSAT/CES and free text (CSV) and support tickets (CSV), in English and Polish, and
monthly subscriptions (CSV). One issue is planted: from day 76, after "update 5.2", payments start
failing at checkout; the complaints grow daily, the survey scores of customers who mention it drop,
support answers more slowly and more customers leave in September.

Run ``python -m voxlens.sample.build`` to rebuild ``voxlens/sample/data/`` (deterministic, seed 7).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).parent / "data"
START = datetime(2026, 7, 3)
DAYS = 90
PLANT_DAY = 76
SEED = 7

# topic -> polarity -> language -> phrases
PHRASES: dict[str, dict[str, dict[str, list[str]]]] = {
    "delivery": {
        "neg": {"en": ["My parcel arrived three days late", "Delivery was late again this week",
                       "The package showed 'out for delivery' all day and never came",
                       "Next-day delivery took almost a week", "Second late delivery in a row",
                       "They missed the delivery window completely"],
                "pl": ["Paczka przyszła trzy dni po terminie", "Znowu spóźniona dostawa",
                       "Przesyłka cały dzień 'w doręczeniu' i nie dotarła"]},
        "pos": {"en": ["Parcel arrived a day early", "Delivery was super quick",
                       "Next-day delivery actually came the next morning", "Fast delivery as always"],
                "pl": ["Paczka dotarła dzień wcześniej", "Bardzo szybka dostawa"]},
    },
    "courier": {
        "neg": {"en": ["The courier was rude and threw the box at my door", "Courier left my parcel in the rain",
                       "Driver didn't even ring the bell and left a missed-delivery note",
                       "The courier refused to carry it upstairs"],
                "pl": ["Kurier był niemiły i rzucił paczkę pod drzwi", "Kurier nawet nie zadzwonił domofonem"]},
        "pos": {"en": ["The courier was really friendly and helpful", "Lovely driver, called ahead before arriving",
                       "Our courier always puts the parcel in the safe spot we asked for"],
                "pl": ["Bardzo miły i pomocny kurier", "Kurier zadzwonił wcześniej, super kontakt"]},
    },
    "tracking": {
        "neg": {"en": ["The tracking map is useless, the van icon jumps around",
                       "Tracking hasn't updated in two days", "Live tracking shows the wrong street",
                       "Tracking said delivered but nothing was here"],
                "pl": ["Śledzenie przesyłki nie aktualizuje się od dwóch dni", "Mapa śledzenia pokazuje złą ulicę"]},
        "pos": {"en": ["Love the live tracking map, I know exactly when it arrives",
                       "Tracking updates are accurate to the minute"],
                "pl": ["Śledzenie na mapie działa świetnie"]},
    },
    "app": {
        "neg": {"en": ["The app is slow and freezes on the home screen", "App keeps logging me out",
                       "Notifications arrive hours after the parcel", "The app drains my battery"],
                "pl": ["Aplikacja się zawiesza na ekranie głównym", "Aplikacja ciągle mnie wylogowuje"]},
        "pos": {"en": ["Clean app, easy to send a parcel in a minute", "The new app design is great",
                       "Really intuitive app, scanning the label is easy"],
                "pl": ["Aplikacja jest prosta i czytelna", "Nadanie paczki w aplikacji to minuta"]},
    },
    "price": {
        "neg": {"en": ["Shipping prices went up again", "Too expensive compared to the post office",
                       "Hidden fees for larger boxes", "The weekend surcharge is ridiculous"],
                "pl": ["Ceny wysyłki znowu poszły w górę", "Za drogo w porównaniu z pocztą"]},
        "pos": {"en": ["Great value for money", "Cheapest way to send parcels that I know",
                       "The subscription saves me a lot on shipping"],
                "pl": ["Dobry stosunek jakości do ceny", "Najtańsza wysyłka jaką znam"]},
    },
    "support": {
        "neg": {"en": ["Customer support never answers the chat", "Waited 40 minutes on the hotline",
                       "Support closed my complaint without reading it", "The support bot just loops"],
                "pl": ["Obsługa klienta nie odpowiada na czacie", "Czekałem 40 minut na infolinii"]},
        "pos": {"en": ["Support sorted my problem in five minutes", "Very helpful agent on the chat",
                       "Customer service refunded me straight away"],
                "pl": ["Konsultant na czacie szybko pomógł", "Obsługa klienta od razu zwróciła pieniądze"]},
    },
    "locker": {
        "neg": {"en": ["The parcel locker was full so they sent it to another town",
                       "Locker code didn't work and I couldn't open the box", "Pickup point closed early"],
                "pl": ["Paczkomat był pełny i paczkę wysłali do innego miasta", "Kod do paczkomatu nie działał"]},
        "pos": {"en": ["Parcel lockers are so convenient, open 24/7", "Picked up from the locker in seconds"],
                "pl": ["Paczkomaty są bardzo wygodne", "Odbiór z paczkomatu w kilka sekund"]},
    },
}
PLANTED = {
    "en": ["Payment fails at checkout since update 5.2", "Card payment keeps getting declined in the app after the update",
           "Can't pay for shipping anymore, checkout throws an error", "Charged twice and the payment still shows as failed",
           "Since version 5.2 the payment screen just spins and fails", "Checkout broken: 'payment could not be processed'",
           "BLIK and card payments both fail after the latest update"],
    "pl": ["Płatność nie przechodzi od aktualizacji 5.2", "Po aktualizacji karta jest ciągle odrzucana przy płatności",
           "Pobrało pieniądze dwa razy, a płatność dalej nieudana", "Płatność BLIK nie działa po ostatniej aktualizacji"],
}
DETAILS = {
    "neg": {"en": ["Really disappointed.", "Not acceptable.", "Fix this please.", "Considering switching.",
                   "This keeps happening.", "", "", ""],
            "pl": ["Bardzo słabo.", "Proszę to naprawić.", "Rozważam zmianę firmy.", "", ""]},
    "pos": {"en": ["Thanks!", "Highly recommend.", "Keep it up.", "Very happy.", "", "", ""],
            "pl": ["Dziękuję!", "Polecam.", "Super.", "", ""]},
}
TOPIC_WEIGHTS = {"delivery": 0.22, "courier": 0.14, "tracking": 0.14, "app": 0.14, "price": 0.12,
                 "support": 0.12, "locker": 0.12}
NEGATIVE_SHARE = {"delivery": 0.55, "courier": 0.4, "tracking": 0.45, "app": 0.4, "price": 0.5,
                  "support": 0.55, "locker": 0.35}


def _text(rng: np.random.Generator, topic: str, polarity: str, lang: str) -> str:
    pool = PLANTED[lang] if topic == "payment" else PHRASES[topic][polarity][lang]
    core = str(rng.choice(pool))
    detail = str(rng.choice(DETAILS[polarity][lang]))
    return f"{core}. {detail}".strip() if detail else core + "."


def _draw(rng: np.random.Generator, day: int) -> tuple[str, str, str]:
    """(topic, polarity, language) for one item on ``day``."""
    lang = "pl" if rng.random() < 0.18 else "en"
    planted_rate = 0.0 if day < PLANT_DAY else min(0.30, 0.05 + 0.03 * (day - PLANT_DAY))
    if rng.random() < planted_rate:
        return "payment", "neg", lang
    topic = str(rng.choice(list(TOPIC_WEIGHTS), p=list(TOPIC_WEIGHTS.values())))
    polarity = "neg" if rng.random() < NEGATIVE_SHARE[topic] else "pos"
    return topic, polarity, lang


def _moment(rng: np.random.Generator, day: int) -> str:
    stamp = START + timedelta(days=day, seconds=int(rng.integers(7 * 3600, 23 * 3600)))
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(seed: int = SEED) -> dict[str, pd.DataFrame | list[dict]]:
    rng = np.random.default_rng(seed)
    reviews, posts, survey = [], [], []
    for day in range(DAYS):
        weekend = (START + timedelta(days=day)).weekday() >= 5
        for _ in range(int(rng.poisson(11 if weekend else 15))):
            topic, polarity, lang = _draw(rng, day)
            rating = int(rng.choice([1, 2]) if polarity == "neg" else rng.choice([4, 5]))
            reviews.append({"review_id": f"r{len(reviews) + 1:05d}", "date": _moment(rng, day),
                            "stars": rating, "language": lang, "reviewer": f"user{int(rng.integers(1, 4000))}",
                            "body": _text(rng, topic, polarity, lang), "store": "android" if rng.random() < 0.6 else "ios"})
        for _ in range(int(rng.poisson(7))):
            topic, polarity, lang = _draw(rng, day)
            posts.append({"id": f"p{len(posts) + 1:05d}", "created_at": _moment(rng, day),
                          "author": f"redditor{int(rng.integers(1, 2000))}", "subreddit": "parcelo",
                          "title": "", "text": _text(rng, topic, polarity, lang),
                          "url": f"https://www.reddit.com/r/parcelo/comments/p{len(posts) + 1:05d}/"})
        for _ in range(int(rng.poisson(8))):
            topic, polarity, lang = _draw(rng, day)
            if topic == "payment":
                nps_answer = int(rng.integers(0, 5))
            elif polarity == "neg":
                nps_answer = int(rng.choice(range(0, 11), p=_nps_weights(negative=True)))
            else:
                nps_answer = int(rng.choice(range(0, 11), p=_nps_weights(negative=False)))
            csat_answer = int(np.clip(round(1 + nps_answer * 0.4 + rng.normal(0, 0.6)), 1, 5))
            ces_answer = int(np.clip(round(1 + nps_answer * 0.55 + rng.normal(0, 0.8)), 1, 7))
            survey.append({"response_id": f"s{len(survey) + 1:05d}", "submitted_at": _moment(rng, day),
                           "customer_id": f"c{int(rng.integers(1, 3000)):04d}",
                           "plan": str(rng.choice(["free", "plus", "business"], p=[0.6, 0.3, 0.1])),
                           "nps": nps_answer, "csat": csat_answer, "ces": ces_answer,
                           "comment": _text(rng, topic, polarity, lang) if rng.random() < 0.75 else ""})
    return {"reviews": pd.DataFrame(reviews), "posts": posts, "survey": pd.DataFrame(survey)}


PLANS = {"plus": 9.99, "business": 49.0}


def build_support(seed: int = SEED) -> dict[str, pd.DataFrame]:
    """Support tickets (day by day, like the feedback) and monthly subscriptions, from their own generator."""
    rng = np.random.default_rng(seed + 1)
    tickets = []
    for day in range(DAYS):
        weekend = (START + timedelta(days=day)).weekday() >= 5
        for _ in range(int(rng.poisson(3 if weekend else 5))):
            topic, polarity, lang = _draw(rng, day)
            opened = datetime.strptime(_moment(rng, day), "%Y-%m-%dT%H:%M:%SZ")
            first = opened + timedelta(hours=float(rng.lognormal(np.log(6.0 if day >= PLANT_DAY else 2.5), 0.6)))
            solved = first + timedelta(hours=float(rng.lognormal(np.log(20.0), 0.7)))
            tickets.append({"id": f"t{len(tickets) + 1:05d}", "created_at": f"{opened:%Y-%m-%dT%H:%M:%SZ}",
                            "first_reply_at": f"{first:%Y-%m-%dT%H:%M:%SZ}", "solved_at": f"{solved:%Y-%m-%dT%H:%M:%SZ}",
                            "reopens": int(rng.random() < (0.25 if topic == "payment" else 0.08)), "tags": topic,
                            "subject": _text(rng, topic, "neg", lang),
                            "requester": f"c{int(rng.integers(1, 3000)):04d}"})
    rows, plan, serial = [], {}, 0
    for month, churn in (("2026-06-01", 0.03), ("2026-07-01", 0.03), ("2026-08-01", 0.03), ("2026-09-01", 0.08)):
        plan = {c: p for c, p in plan.items() if rng.random() >= churn}
        for customer, current in plan.items():
            if current == "plus" and rng.random() < 0.02:
                plan[customer] = "business"
            elif current == "business" and rng.random() < 0.01:
                plan[customer] = "plus"
        for _ in range(1000 if not serial else int(rng.poisson(45))):
            serial += 1
            plan[f"c{serial:04d}"] = "business" if rng.random() < 0.25 else "plus"
        rows += [{"customer_id": c, "period": month, "revenue": PLANS[p], "segment": p} for c, p in sorted(plan.items())]
    return {"tickets": pd.DataFrame(tickets), "subscriptions": pd.DataFrame(rows)}


def _nps_weights(negative: bool) -> list[float]:
    weights = np.array([3, 2, 3, 4, 5, 6, 6, 5, 3, 1, 1] if negative else [0, 0, 0, 0, 1, 1, 2, 5, 8, 10, 9],
                       dtype=float)
    return list(weights / weights.sum())


def write(directory: Path = DATA_DIR, seed: int = SEED) -> list[Path]:
    """Write reviews.csv, posts.jsonl, survey.csv, tickets.csv and subscriptions.csv into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {**build(seed), **build_support(seed)}
    paths = [directory / name for name in ("reviews.csv", "posts.jsonl", "survey.csv", "tickets.csv",
                                           "subscriptions.csv")]
    paths[1].write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in data["posts"]), encoding="utf-8")
    for path, name in ((paths[0], "reviews"), (paths[2], "survey"), (paths[3], "tickets"), (paths[4], "subscriptions")):
        data[name].to_csv(path, index=False, lineterminator="\n")
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rebuild the bundled sample data (fictional).")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in write(args.out, args.seed):
        print(path)


if __name__ == "__main__":
    main()
