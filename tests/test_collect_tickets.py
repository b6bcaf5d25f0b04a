"""Support tickets from a CSV export: times, reopens and tags kept; bad rows quarantined."""

from __future__ import annotations

from voxlens.collectors.tickets import import_tickets

EXPORT = """Ticket ID,Created at,First reply at,Solved at,Reopens,Tags,Subject,Description,Requester,Status
101,2026-09-17 08:00,2026-09-17 08:45,2026-09-17 12:00,0,payment app-5.2,Card declined,"Paid twice, card declined, email me at ola@example.pl",ola@example.pl,solved
102,2026-09-17 09:00,2026-09-17 09:10,,1,"delivery,late",Parcel late,,piotr@example.pl,open
103,2026-09-18 09:00,,2026-09-17 09:00,0,,Refund,Refund please,,solved
"""


def test_ticket_export_keeps_times_reopens_tags_and_links_text(store, tmp_path):
    path = tmp_path / "zendesk_export.csv"
    path.write_text(EXPORT)
    counts = import_tickets(store, path, redact=True)
    assert (counts.read, counts.new, counts.quarantined) == (3, 2, 1)
    tickets = store.query("SELECT external_id, first_response_at, resolved_at, reopened, tags FROM tickets "
                          "ORDER BY external_id")
    assert [list(t) for t in tickets["tags"]] == [["app-5.2", "payment"], ["delivery", "late"]]
    assert tickets["reopened"].tolist() == [0, 1]
    assert str(tickets.iloc[0]["first_response_at"]) == "2026-09-17 08:45:00"
    texts = store.query("SELECT external_id, title, text, author FROM items ORDER BY external_id")
    assert texts["text"].tolist() == ["Paid twice, card declined, email me at [email]", "Parcel late"]
    assert texts["author"].str.startswith("a_").all()
    reason = store.query("SELECT reason FROM quarantine")["reason"].iloc[0]
    assert "before the ticket was opened" in reason
    assert import_tickets(store, path, redact=True).new == 0


def test_a_changed_ticket_updates_and_its_text_follows(store, tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text(EXPORT)
    import_tickets(store, path)
    path.write_text(EXPORT.replace("Parcel late,,", "Parcel late,Still waiting after 5 days,").replace(",1,", ",2,"))
    counts = import_tickets(store, path)
    assert (counts.updated, counts.new) == (1, 0)
    assert store.query("SELECT reopened FROM tickets WHERE external_id = '102'")["reopened"].item() == 2
    assert store.query("SELECT text FROM items WHERE external_id = '102'")["text"].item() == "Still waiting after 5 days"
