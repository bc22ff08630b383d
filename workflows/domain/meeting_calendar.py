"""Meetings as calendar entries (RFC 5545, made with `icalendar`): the invitation's REQUEST, the cancellation's
CANCEL and the network's feed, in Europe/Amsterdam time with the stable UID and the meeting's SEQUENCE."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur

from storage.database.models import Meeting, utcnow
from workflows.domain.wording import TIMEZONE

PRODID = "-//Akkoord//bijeenkomsten//NL"
# What the answer on the sign-up page means to a calendar (RFC 5545 PARTSTAT).
PARTSTAT = {"none": "NEEDS-ACTION", "aanmelden": "ACCEPTED", "afmelden": "DECLINED"}


@dataclass(frozen=True)
class Party:
    """An organiser or attendee as the calendar shows them."""

    name: str
    email: str


def _vtimezone() -> Timezone:
    """Europe/Amsterdam by its rule (last Sunday of March and of October), as Outlook and Google write it: a few
    lines that hold for any year, where a list of transitions would stop somewhere."""
    zone = Timezone()
    zone.add("tzid", "Europe/Amsterdam")
    zone.add("x-lic-location", "Europe/Amsterdam")
    summer = TimezoneDaylight()
    summer.add("tzname", "CEST")
    summer.add("dtstart", dt.datetime(1970, 3, 29, 2, 0, 0))
    summer.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    summer.add("tzoffsetfrom", dt.timedelta(hours=1))
    summer.add("tzoffsetto", dt.timedelta(hours=2))
    winter = TimezoneStandard()
    winter.add("tzname", "CET")
    winter.add("dtstart", dt.datetime(1970, 10, 25, 3, 0, 0))
    winter.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    winter.add("tzoffsetfrom", dt.timedelta(hours=2))
    winter.add("tzoffsetto", dt.timedelta(hours=1))
    zone.add_component(summer)
    zone.add_component(winter)
    return zone


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add_component(_vtimezone())
    return calendar


def _event(meeting: Meeting, *, description: str, organizer: Party, cancelled: bool,
           attendee: tuple[Party, str] | None, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", meeting.uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", meeting.starts_at.astimezone(TIMEZONE))
    event.add("dtend", meeting.ends_at.astimezone(TIMEZONE))
    event.add("summary", meeting.title)
    event.add("description", description)
    place = ", ".join(line.strip() for line in meeting.place.splitlines() if line.strip())
    location = ", ".join(part for part in (place, meeting.online_url) if part)
    if location:
        event.add("location", location)
    if meeting.online_url:
        event.add("url", meeting.online_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", vCalAddress(f"mailto:{organizer.email}"), parameters={"cn": organizer.name})
    if attendee is not None:
        party, answer = attendee
        # RSVP=FALSE: the answer is given on the sign-up page, not by a calendar's reply to the organiser.
        event.add("attendee", vCalAddress(f"mailto:{party.email}"),
                  parameters={"cn": party.name, "role": "REQ-PARTICIPANT", "partstat": PARTSTAT[answer],
                              "rsvp": "FALSE"})
    return event


def invitation(meeting: Meeting, *, description: str, organizer: Party, attendee: Party, answer: str = "none",
               now: dt.datetime | None = None) -> bytes:
    """The .ics of one person's invitation: METHOD:REQUEST, or METHOD:CANCEL once the meeting is cancelled (or
    their invitation withdrawn: `answer` "cancel"). It carries no personal link: calendars are shared and synced
    to services, and the link is the person's alone (the mail has it)."""
    cancelled = meeting.is_cancelled or answer == "cancel"
    calendar = _calendar("CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_event(meeting, description=description, organizer=organizer,
                                  cancelled=cancelled, stamp=now or utcnow(),
                                  attendee=(attendee, "none" if answer == "cancel" else answer)))
    return calendar.to_ical()


def feed(meetings: list[tuple[Meeting, str]], *, name: str, organizer: Party,
         now: dt.datetime | None = None) -> bytes:
    """The network's meetings for a calendar subscription (METHOD:PUBLISH, no attendees): (meeting, description)."""
    calendar = _calendar("PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Amsterdam")
    stamp = now or utcnow()
    for meeting, description in meetings:
        calendar.add_component(_event(meeting, description=description, organizer=organizer,
                                      cancelled=meeting.is_cancelled, attendee=None, stamp=stamp))
    return calendar.to_ical()
