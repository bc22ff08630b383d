"""The API's bodies for network meetings (bijeenkomsten), their minutes and action points (as service.api.schemas
does for the rest; a module of its own so the meetings' models stay together)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, field_validator

from service.api.schemas import Input, Line, Output, PageQuery, Text, page_model
from storage.database.models import ACTION_POINT_STATUSES, AGENDA_COMMENT_SELECTIONS, MEETING_AUDIENCES

# A meeting is planned for a day people can put in a calendar; years outside this range are typing errors (and a
# time near the end of year 9999 cannot be turned into UTC).
YEARS = (2000, 2999)


# Meetings ------------------------------------------------------------------------------------------------------

class MeetingIn(Input):
    """A meeting as planned, or as it is to be after a change: the whole plan, as the planning page's form (a field
    left out takes its default)."""

    title: Line = Field(min_length=1, max_length=300)
    starts_at: AwareDatetime = Field(description="When it starts (with a time zone; in the future). Stored to the "
                                                 "minute in UTC, shown in Europe/Amsterdam.")
    duration_minutes: int = Field(ge=15, le=12 * 60, description="How long it lasts (the handbook: 150 to 180).")
    place: Text = Field("", max_length=1000, description="Where: an address, a room. A place, an online meeting "
                                                         "link, or both.")
    online_url: Line = Field("", max_length=2000, description="The online meeting's link (https:// or http://).")
    message: Text = Field("", max_length=5000, description="A word from the organisers with the invitation.")
    chair_id: int | None = Field(None, ge=1, le=2**31 - 1, description="The chair: a current membership's id.")
    minute_taker_id: int | None = Field(None, ge=1, le=2**31 - 1, description="The minute-taker (notulist): a "
                                        "current membership's id; they may write the minutes.")
    audience: Literal[MEETING_AUDIENCES] = Field(
        "everyone", description="Whom it is for: everyone, the kerngroep/bestuur (board), the project group, or the "
                                "people of the chosen organisations (`organisation_ids`).")
    organisation_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(
        default_factory=list, max_length=500, description="For the audience `organisations`: the organisations' ids.")

    @field_validator("starts_at")
    @classmethod
    def _a_calendar_year(cls, value: dt.datetime) -> dt.datetime:
        if not YEARS[0] <= value.year <= YEARS[1]:
            raise ValueError(f"a meeting starts between the years {YEARS[0]} and {YEARS[1]}")
        return value


class MeetingQuery(PageQuery):
    period: Literal["upcoming", "past"] | None = Field(None, description="Only the meetings still to come (or "
                                                       "under way), or only those that ended.")


class MeetingPerson(Output):
    """A member as the network knows them: the chair, minute-taker, a presenter or an action point's owner."""

    membership_id: int
    person_id: int
    name: str
    email: str
    organisation: str | None


class MeetingOut(Output):
    id: int
    network_id: int
    title: str
    status: Literal["planned", "cancelled"]
    period: Literal["upcoming", "past"] = Field(description="Whether it is still to come (or under way), or ended.")
    starts_at: dt.datetime = Field(description="In UTC.")
    ends_at: dt.datetime = Field(description="In UTC: the start and the duration.")
    timezone: Literal["Europe/Amsterdam"] = "Europe/Amsterdam"
    starts_at_local: dt.datetime = Field(description="The start in Europe/Amsterdam, as the invitation says it.")
    ends_at_local: dt.datetime = Field(description="The end in Europe/Amsterdam.")
    duration_minutes: int
    place: str
    online_url: str
    message: str
    chair: MeetingPerson | None
    minute_taker: MeetingPerson | None
    audience: Literal[MEETING_AUDIENCES]
    organisation_ids: list[int]
    uid: str = Field(description="The calendar UID: the same in every .ics of this meeting.")
    sequence: int = Field(description="The calendar SEQUENCE: raised by each change of time or place and by the "
                                      "cancellation.")
    invited_at: dt.datetime | None = Field(description="When the invitations first went out; null: not yet.")
    cancelled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AgendaLinkOut(Output):
    """What an agenda item is about: a version, a redline (from `compare_version_id` to `version_id`), a round, or
    comments of a round (`comment_selection`, the comments in `comment_ids`)."""

    document_id: int | None
    version_id: int | None
    compare_version_id: int | None
    round_id: int | None
    comment_selection: Literal[AGENDA_COMMENT_SELECTIONS] | None
    comment_ids: list[int]


class DecisionOut(Output):
    id: int
    text: str
    comment_ids: list[int] = Field(description="The comments the decision refers to (they show where they were "
                                               "discussed).")
    created_at: dt.datetime
    updated_at: dt.datetime


class AgendaItemOut(Output):
    id: int
    position: int
    title: str
    presenter: MeetingPerson | None
    minutes: int | None = Field(description="The time it takes, in minutes.")
    link: AgendaLinkOut | None = Field(description="What it is about; null: nothing in particular.")
    notes: str = Field(description="The minutes (notulen) of this item.")
    decisions: list[DecisionOut] = Field(description="The decisions (besluiten) taken under this item.")


class AttendanceCount(Output):
    invited: int = Field(description="Invitations that stand (not withdrawn, of people still in the network).")
    aanmelden: int = Field(description="Signed up.")
    afmelden: int = Field(description="Said they will not come.")
    no_answer: int
    attended: int | None = Field(description="Who came, as the minutes record it; null: not recorded yet.")


class OrganisationAttendance(Output):
    organisation: str = Field(description="The organisation's name; \"\" for members without one.")
    aanmelden: int
    afmelden: int
    no_answer: int
    attended: list[str] = Field(description="The names of those who came, as the minutes record it.")


class ActionPointOut(Output):
    id: int
    meeting_id: int
    agenda_item_id: int | None
    text: str
    owner: MeetingPerson
    due_on: dt.date = Field(description="The day it is due (Dutch time).")
    status: Literal[ACTION_POINT_STATUSES]
    overdue: bool = Field(description="Open, and its due day has passed (Dutch time).")
    done_note: str
    done_at: dt.datetime | None
    created_at: dt.datetime


class MeetingDetail(MeetingOut):
    agenda: list[AgendaItemOut]
    attendance: AttendanceCount
    by_organisation: list[OrganisationAttendance]
    action_points: list[ActionPointOut] = Field(description="The action points (actiepunten) the meeting gave, by "
                                                            "due day.")
    open_action_points: list[ActionPointOut] = Field(description="The standing agenda item of a meeting to come: "
                                                     "action points still open from the network's earlier meetings.")


class InvitationsOut(Output):
    invited: int = Field(description="How many were invited now (0: everyone it is for was invited already).")
    meeting: MeetingDetail


MeetingPage = page_model(MeetingOut, "MeetingPage")


# Action points -------------------------------------------------------------------------------------------------

class ActionPointQuery(PageQuery):
    status: Literal[ACTION_POINT_STATUSES] | None = Field(None, description="Only open or only done action points.")
    overdue: bool = Field(False, description="Only the open action points whose due day has passed.")


class ActionDoneIn(Input):
    note: Text = Field("", max_length=2000, description="How it was done (optional).")


ActionPointPage = page_model(ActionPointOut, "ActionPointPage")
