"""Demo data at any size: ``manage.py seed_demo --work-orders N``.

Builds a demo user for each role, skills, service types, partner companies,
technicians spread over Shanghai, customers with sites and equipment, and N
work orders over the past 12 months in every state, each with the events that
led it there. Each history is replayed through the rows of the lifecycle table
(``workorders.lifecycle.TRANSITIONS``) on one unsaved ``WorkOrder``: a step must leave
from the order's state in the role that fires it, the order goes to the row's target
and the row's effects that set its fields run as registered (``workorders/effects.py``);
the order's row is read from that object. So the audit log of a seeded order reads
like one made by people, and a change in the table changes the seed (or stops it with
the step it no longer allows). See ``_replay_plan`` for the effects it leaves out.

Master data goes through the ORM; the bulk (customers, sites, equipment, work
orders, events) is written with PostgreSQL ``COPY`` (or ``executemany`` on
other databases) in batches, in order of creation, so that ids follow time.
"""

import io
import json
import queue
import random
import secrets
import threading
import time
import uuid
from bisect import bisect_right as _bisect  # first cumulative weight above x
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from operator import attrgetter

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from catalog.models import ChecklistItem, CustomField, Part, ServiceType, ServiceTypePart, ServiceTypeSkill, Skill
from contracts.models import Contract
from core import roles as R
from core.i18n import bilingual
from customers.models import Customer, Equipment, Site
from demo.story import PART_COST_SHARE, Story
from inventory.models import SerialUnit, StockLevel, StockLocation, StockMove
from inventory.services import stock_receive, stock_transfer
from knowledge.models import SuggestionOutcome
from maintenance.models import MaintenancePlan, MeterReading
from maintenance.services import plans_sweep
from notifications.models import Notification
from reports import rollup
from reports.facts import facts_refresh
from technicians.models import PartnerCompany, Technician, TechnicianSkill
from workorders import hooks
from workorders.effects import give_to_technician
from workorders.lifecycle import PREVIOUS, TRANSITIONS, Status, Transition
from workorders.models import WorkOrder, WorkOrderEvent

DEMO_PASSWORD = "demo12345"

# username, role group (None: superuser), is_staff, first name
DEMO_USERS = [
    ("agent", R.AGENT, True, "客服 Agent"),
    ("dispatcher", R.DISPATCHER, True, "调度 Dispatcher"),
    ("technician", R.TECHNICIAN, False, "工程师 Technician"),
    ("partner", R.PARTNER_TECHNICIAN, False, "合作伙伴 Partner"),
    ("manager", R.MANAGER, True, "经理 Manager"),
    ("admin", None, True, "管理员 Admin"),
]

SKILLS = [
    ("aircon", "空调 Air conditioning"),
    ("refrigeration", "制冷 Refrigeration"),
    ("laundry", "洗衣机 Laundry appliances"),
    ("plumbing", "水暖 Plumbing"),
    ("electrical", "电工 Electrical"),
    ("gas", "燃气 Gas appliances"),
    ("kitchen", "厨电 Kitchen appliances"),
    ("installation", "安装 Installation"),
]

# code, name, minutes, call-out fee, manager review, required skills, equipment kind, how common
SERVICE_TYPES = [
    ("aircon-repair", "空调维修 Air conditioner repair", 90, 80, False, [("aircon", 2)], "aircon", 22),
    ("aircon-install", "空调安装 Air conditioner install", 180, 150, True,
     [("aircon", 2), ("installation", 2), ("electrical", 1)], "aircon", 8),
    ("aircon-clean", "空调清洗 Air conditioner cleaning", 60, 60, False, [("aircon", 1)], "aircon", 10),
    ("washer-repair", "洗衣机维修 Washing machine repair", 75, 60, False, [("laundry", 2)], "washer", 14),
    ("water-heater-install", "热水器安装 Water heater install", 150, 120, True,
     [("plumbing", 2), ("installation", 2)], "heater", 6),
    ("water-heater-repair", "热水器维修 Water heater repair", 90, 70, False, [("plumbing", 2), ("gas", 2)], "heater", 10),
    ("fridge-repair", "冰箱维修 Refrigerator repair", 90, 80, False, [("refrigeration", 3)], "fridge", 12),
    ("range-hood-clean", "油烟机清洗 Range hood cleaning", 60, 50, False, [("kitchen", 1)], "hood", 8),
    ("dishwasher-install", "洗碗机安装 Dishwasher install", 120, 100, False,
     [("kitchen", 2), ("plumbing", 1), ("installation", 1)], "dishwasher", 4),
    ("gas-stove-repair", "燃气灶维修 Gas stove repair", 60, 60, False, [("gas", 3)], "stove", 6),
]

# A safety inspection (issue 22): its own questions and a checklist the technician's phone enforces.
# It has no history in the demo: the seeded orders are the repair and install types above.
INSPECTION = ("inspection", "安全检查 Safety inspection", 60, 100, [("electrical", 2)])
INSPECTION_BEFORE_PHOTOS = 1  # its flow: photos on arrival, before the work starts
INSPECTION_CHECKLIST = [
    "检查配电箱 Inspect the distribution box",
    "测试漏电保护器 Test the residual-current device",
    "检查接地 Check the earthing",
    "检查燃气管道与阀门 Check the gas pipes and valves",
    "测试烟雾报警器 Test the smoke alarms",
]
# key, label, kind, options (zh, en), required, stage
INSPECTION_FIELDS = [
    ("building_type", "建筑类型 Building type", "choice",
     ("home = 住宅\nshop = 商铺\nfactory = 厂房", "home = Home\nshop = Shop\nfactory = Factory"), False, "intake"),
    ("before_photo", "检查前照片 Photo before the inspection", "photo", ("", ""), True, "completion"),
    ("hazard_found", "发现安全隐患 Safety hazard found", "yesno", ("", ""), True, "completion"),
]

# Spare parts (number, name, unit, price, serial-numbered) and the service types that
# usually need them, with the quantity: assignment reserves them (inventory/services.py).
PARTS = [
    ("CMP-15P", "压缩机 1.5匹 Compressor 1.5 HP", "pcs", "980.00", True, [("aircon-repair", "1")]),
    ("R32-KG", "R32 冷媒 Refrigerant R32", "kg", "65.00", False, [("aircon-repair", "0.8")]),
    ("FLT-AC", "空调滤网 Air conditioner filter", "pcs", "25.00", False, [("aircon-clean", "2")]),
    ("PUMP-WM", "排水泵 Washing machine drain pump", "pcs", "120.00", False, [("washer-repair", "1")]),
    ("IGN-01", "点火器 Igniter", "pcs", "45.00", False,
     [("water-heater-repair", "1"), ("gas-stove-repair", "1")]),
    ("THERM-FR", "温控器 Refrigerator thermostat", "pcs", "88.00", False, [("fridge-repair", "1")]),
]
VAN_STOCK = {"CMP-15P": 1, "R32-KG": "2.5", "FLT-AC": 4, "PUMP-WM": 1, "IGN-01": 2, "THERM-FR": 1}

EQUIPMENT = {
    "aircon": [("格力 Gree", "KFR-35GW"), ("美的 Midea", "KFR-26GW"), ("海尔 Haier", "KFR-50LW"), ("大金 Daikin", "FTXR336")],
    "washer": [("小天鹅 Little Swan", "TG100V88"), ("海尔 Haier", "EG100MATE"), ("西门子 Siemens", "WM12P2602W")],
    "heater": [("史密斯 A.O. Smith", "E60VN"), ("万和 Vanward", "JSQ24-12"), ("海尔 Haier", "EC6002-MC5")],
    "fridge": [("海尔 Haier", "BCD-470WDPG"), ("美的 Midea", "BCD-606WKPZM"), ("西门子 Siemens", "KA92NV02TI")],
    "hood": [("方太 Fotile", "CXW-258-EM72T"), ("老板 Robam", "CXW-200-27A7")],
    "dishwasher": [("西门子 Siemens", "SJ636X04JC"), ("方太 Fotile", "JBSD2T-Q9")],
    "stove": [("方太 Fotile", "JZT-TH25B"), ("老板 Robam", "JZT-30B0")],
}

PROBLEMS = {
    "aircon-repair": ["空调不制冷，外机有异响。", "空调漏水，室内机一直滴水。", "遥控器开机后显示 E1 故障码。",
                      "The air conditioner only blows warm air.", "空调开机几分钟后自动停机。"],
    "aircon-install": ["新买的空调需要安装，卧室挂机。", "搬家后空调移机安装。", "Please install a new split unit in the living room."],
    "aircon-clean": ["空调有异味，需要深度清洗。", "夏季前清洗两台挂机。", "The air conditioner smells musty; please clean it."],
    "washer-repair": ["洗衣机不排水，显示 E21。", "脱水时机身剧烈晃动。", "The washing machine does not spin.", "洗衣机门打不开。"],
    "water-heater-install": ["新热水器安装，原机拆除。", "Please install a 60 L electric water heater."],
    "water-heater-repair": ["热水器打不着火。", "热水器出水忽冷忽热。", "The water heater leaks from the bottom."],
    "fridge-repair": ["冰箱冷藏室不冷。", "冰箱压缩机一直响，不停机。", "The fridge freezer is icing up."],
    "range-hood-clean": ["油烟机吸力变小，需要清洗。", "The range hood is noisy and greasy."],
    "dishwasher-install": ["嵌入式洗碗机安装。", "Please install a built-in dishwasher."],
    "gas-stove-repair": ["燃气灶左侧打不着火。", "燃气灶点火后很快熄灭。", "The gas hob clicks but does not light."],
}

REASONS = {
    "reject": ["时间冲突 Schedule conflict", "不在服务区域 Outside my area", "缺少所需工具 Missing the tools needed"],
    "hold": ["等待配件到货 Waiting for parts", "客户临时不在家 Customer not at home",
             "需要物业审批 Needs building management approval", "需要二次上门 A second visit is needed"],
    "cancel": ["客户取消 Customer cancelled", "重复工单 Duplicate request", "客户已自行解决 Customer fixed it",
               "无法联系客户 Could not reach the customer"],
    "reopen": ["问题复发 The problem came back", "回访不满意 Customer unhappy on the call-back"],
    "complete": ["更换电容，测试正常。Replaced the capacitor; tested OK.", "清洗滤网与蒸发器。Cleaned filter and coil.",
                 "更换排水泵。Replaced the drain pump.", "补充冷媒，运行正常。Recharged refrigerant.",
                 "安装完成，已试机。Installed and tested."],
    "close": ["满意 Satisfied", "非常满意 Very satisfied", ""],
}

# Shanghai districts: (name, centre latitude, centre longitude, roads)
DISTRICTS = [
    ("黄浦区", 31.231, 121.484, ["南京东路", "西藏中路", "淮海中路", "复兴东路"]),
    ("徐汇区", 31.188, 121.437, ["漕溪北路", "肇嘉浜路", "虹桥路", "龙华中路"]),
    ("长宁区", 31.220, 121.405, ["延安西路", "仙霞路", "天山路", "古北路"]),
    ("静安区", 31.250, 121.450, ["南京西路", "共和新路", "江场路", "大宁路"]),
    ("普陀区", 31.253, 121.397, ["真北路", "曹杨路", "武宁路", "金沙江路"]),
    ("虹口区", 31.270, 121.505, ["四川北路", "曲阳路", "大连西路", "凉城路"]),
    ("杨浦区", 31.283, 121.526, ["四平路", "国定路", "黄兴路", "控江路"]),
    ("浦东新区", 31.222, 121.550, ["世纪大道", "张杨路", "浦东南路", "锦绣路", "川沙路", "高科西路"]),
    ("闵行区", 31.112, 121.382, ["七莘路", "莘庄路", "沪闵路", "都市路"]),
    ("宝山区", 31.350, 121.440, ["牡丹江路", "友谊路", "共康路", "殷高西路"]),
    ("嘉定区", 31.330, 121.265, ["城中路", "塔城路", "曹安公路", "嘉松北路"]),
    ("松江区", 31.040, 121.230, ["人民北路", "荣乐中路", "广富林路", "新松江路"]),
]
LAT_RANGE, LNG_RANGE = (31.0, 31.4), (121.2, 121.7)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣晨曦瑶婷雪琳佳怡涵轩然博文"
EN_FIRST = ["Anna", "David", "Emma", "James", "Laura", "Michael", "Olivia", "Peter", "Sophie", "Thomas"]
EN_LAST = ["Brown", "Clark", "Evans", "Green", "Miller", "Smith", "Taylor", "Walker", "Wilson", "Young"]
PARTNERS = ["沪安家电服务有限公司 Hu'an Appliance Services", "申城制冷工程有限公司 Shencheng Cooling",
            "浦江水暖安装有限公司 Pujiang Plumbing"]

TIERS = [(Customer.Tier.STANDARD, 75), (Customer.Tier.SILVER, 15), (Customer.Tier.GOLD, 7), (Customer.Tier.VIP, 3)]
PRIORITIES = [(1, 15), (2, 60), (3, 20), (4, 5)]
CHANNELS = [(WorkOrder.Channel.WEB, 50), (WorkOrder.Channel.PHONE, 35), (WorkOrder.Channel.API, 15)]
# The demo company's working day, local time (TIME_ZONE): appointments start and end inside it.
WORK_DAY = (8, 18)
# Calls by hour of day (local time): quiet at night, busy in the morning and early evening.
HOURS = [1, 1, 1, 1, 1, 1, 2, 5, 10, 12, 12, 10, 8, 9, 10, 10, 9, 8, 9, 9, 7, 5, 3, 2]

S = Status
# Where an order of a given age stands, in per cent. Recent orders are still in
# the field; old ones are mostly closed, with a stale tail of open ones.
STATUS_BY_AGE = [
    (1, {S.NEW: 35, S.ASSIGNED: 14, S.ACCEPTED: 9, S.EN_ROUTE: 4, S.IN_PROGRESS: 7, S.ON_HOLD: 4,
         S.RESOLVED: 15, S.FOLLOW_UP: 6, S.CLOSED: 3, S.CANCELLED: 3}),
    (7, {S.NEW: 10, S.ASSIGNED: 1.5, S.ACCEPTED: 1, S.IN_PROGRESS: 0.5, S.ON_HOLD: 2,
         S.RESOLVED: 8, S.FOLLOW_UP: 20, S.CLOSED: 52, S.CANCELLED: 5}),
    (30, {S.NEW: 4, S.ON_HOLD: 0.5, S.RESOLVED: 2, S.FOLLOW_UP: 6, S.CLOSED: 81, S.CANCELLED: 6.5}),
    (10**6, {S.NEW: 2.5, S.RESOLVED: 0.3, S.FOLLOW_UP: 0.5, S.CLOSED: 89.7, S.CANCELLED: 7}),
]
# States in which the technician's appointment must not overlap another (see
# the wo_no_double_booking constraint on PostgreSQL).
ACTIVE = {S.ASSIGNED, S.ACCEPTED, S.EN_ROUTE, S.IN_PROGRESS, S.ON_HOLD}
# States that keep the assigned technician.
WITH_TECHNICIAN = ACTIVE | {S.RESOLVED, S.FOLLOW_UP, S.CLOSED}

# Minutes after the previous event (low, high), per action.
DELAYS = {
    "assign": (5, 240), "reassign": (10, 120), "unassign": (5, 60), "reject": (5, 60), "accept": (3, 60),
    "depart": (10, 30), "arrive": (15, 60), "hold": (10, 120), "resume": (60, 2880), "complete": (40, 150),
    "follow_up": (1, 120), "close": (60, 4320), "reopen": (60, 4320), "cancel": (10, 2880),
}

DAY = 86400.0
UTC = dt_timezone.utc

# Who creates an order, by channel (the "create" event's role).
CREATED_BY = {"web": R.CUSTOMER, "phone": R.AGENT, "api": R.SYSTEM}
# The columns of a seeded order the seed writes itself, in the order of _work_orders' rows...
WO_FIELDS = [
    "id", "priority", "channel", "customer", "site", "equipment", "service_type", "contact_name", "contact_phone",
    "contact_email", "address", "description", "preferred_start", "preferred_end", "language", "public_token",
    "submission_key", "created_by", "created_at",
]
# ...and those the replay sets on the unsaved order (with any other field a replayed effect names).
REPLAYED = [
    "status", "technician", "appointment_start", "appointment_end", "hold_return_status", "updated_at",
    "assigned_at", "accepted_at", "arrived_at", "resolved_at", "closed_at",
]
EVENT_FIELDS = ["work_order", "action", "from_status", "to_status", "actor", "actor_role", "note",
                "latitude", "longitude", "data", "created_at"]
NOWHERE = (None, None)  # an event without a position
BY_TECHNICIAN = frozenset({"reject", "accept", "depart", "arrive", "complete"})  # (and hold, resume mostly)


# --- The replay: the lifecycle table's rows as a seeded history runs them -------------------------

# Effects that only set fields of the order: they run as registered, on the unsaved order (no query).
FIELD_EFFECT_PREFIXES = ("stamp.", "stamps.", "hold.")
FIELD_EFFECTS = frozenset({"technician.release"})
# Effects the replay leaves out: the stock (the demo's orders hold none; the story's completion
# reports charge their parts at catalogue prices) and the SLA clock (a seeded order's clock stays
# unstarted; the story derives every order's deadlines and escalations at once, demo/story.py).
NOT_REPLAYED = frozenset({"stock.reserve", "stock.release_previous", "stock.release", "sla.clock"})


def _give(ctx) -> list[str]:
    """``technician.give`` as the replay runs it: to the technician and window ``Command._give``
    chose, as the registered effect does, without the site's point (a query per order)."""
    return give_to_technician(ctx.work_order, technician=ctx.technician, appointment_start=ctx.appointment_start,
                              appointment_end=ctx.appointment_end, now=ctx.now, event_data=ctx.event_data)


# Effects the replay runs in a form of its own, since the registered one reads the database.
SEED_FORMS = {"technician.give": _give}


@dataclass(frozen=True)
class _Step:
    """One row of the table as the replay runs it."""

    transition: Transition
    allowed: frozenset  # the (state, role) pairs it may be fired from
    effects: tuple  # effect(ctx), in the table's order
    target: str | None  # the row's target; None: ``transition.target_for`` the order (PREVIOUS)


def _replay_plan() -> tuple[dict[str, _Step], list[str]]:
    """action -> _Step for each row of ``lifecycle.TRANSITIONS``; and the order's fields the replay
    writes (REPLAYED, then any other that a replayed effect sets, found by running it once on a blank
    order). Refuses (CommandError) an effect it neither replays nor leaves out (NOT_REPLAYED), so one
    added to the table is never dropped silently."""
    plan, fields = {}, list(REPLAYED)
    probe = hooks.Ctx(work_order=WorkOrder(), transition=None, from_status=Status.NEW, target=Status.NEW,
                      now=timezone.now(), actor=None, role="")
    for action, transition in TRANSITIONS.items():
        effects = []
        for name, effect in zip(transition.effects, hooks.resolve(transition)[1]):
            if name in SEED_FORMS:
                effects.append(SEED_FORMS[name])
            elif name in FIELD_EFFECTS or name.startswith(FIELD_EFFECT_PREFIXES):
                probe.transition = transition
                fields += [field for field in effect(probe) if field not in fields]
                effects.append(effect)
            elif name not in NOT_REPLAYED:
                raise CommandError(
                    f"seed_demo cannot replay the effect {name!r} of the {action!r} transition: run it on the "
                    "unsaved order (FIELD_EFFECTS), give it a form of its own (SEED_FORMS) or leave it out "
                    "(NOT_REPLAYED) in demo/management/commands/seed_demo.py."
                )
        allowed = frozenset((state, role) for role in transition.roles for state in transition.sources_for(role))
        target = None if transition.target == PREVIOUS else transition.target
        plan[action] = _Step(transition, allowed, tuple(effects), target)
    return plan, fields


def _weighted(pairs):
    values = [v for v, _ in pairs]
    cum, total = [], 0
    for _, w in pairs:
        total += w
        cum.append(total)
    return values, cum


def _lifecycle_path(final: str, rng: random.Random) -> list[str]:
    """A plausible list of actions from creation to ``final``."""
    to_accepted = ["assign", "accept"]
    if rng.random() < 0.08:
        to_accepted = ["assign", "reject", "assign", "accept"]
    elif rng.random() < 0.05:
        to_accepted = ["assign", "reassign", "accept"]
    on_site = to_accepted + ["depart", "arrive"]
    if rng.random() < 0.1:
        on_site += ["hold", "resume"]
    done = on_site + ["complete"]
    if final == S.NEW:
        r = rng.random()
        if r < 0.08:
            return ["assign", "reject"]
        if r < 0.11:
            return ["assign", "unassign"]
        if r < 0.16:
            return done + ["follow_up", "close", "reopen"]
        if r < 0.18:
            return done + ["follow_up", "reopen"]
        return []
    if final == S.ASSIGNED:
        return rng.choice([["assign"], ["assign"], ["assign"], ["assign", "reassign"], ["assign", "reject", "assign"]])
    if final == S.ACCEPTED:
        return to_accepted
    if final == S.EN_ROUTE:
        return to_accepted + ["depart"]
    if final == S.IN_PROGRESS:
        return on_site
    if final == S.ON_HOLD:
        return rng.choice([to_accepted, to_accepted + ["depart"], on_site, on_site]) + ["hold"]
    if final == S.RESOLVED:
        return done
    if final == S.FOLLOW_UP:
        return done + ["follow_up"]
    if final == S.CLOSED:
        return done + ["follow_up", "close"]
    if final == S.CANCELLED:
        return rng.choice([[], [], ["assign"], to_accepted, to_accepted + ["depart"]]) + ["cancel"]
    raise ValueError(final)


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


_NULL = "\\N"
_SAFE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: str) -> str:
    """A string for COPY's text format (the demo texts rarely need escaping)."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_SAFE)
    return value


def _work_order_line(row) -> str:
    # Columns as in Command._work_orders: ints, strings, datetimes, a UUID and NULLs.
    return "\t".join(
        _NULL if v is None else v.isoformat() if v.__class__ is datetime else _text(v) if v.__class__ is str else str(v)
        for v in row
    )


def _event_line(row) -> str:
    wid, action, from_status, to_status, actor, role, note, lat, lng, data, at = row
    return (
        f"{wid}\t{action}\t{from_status}\t{to_status}\t{_NULL if actor is None else actor}\t{role}\t"
        f"{_text(note)}\t{lat or _NULL}\t{lng or _NULL}\t{_text(_json(data)) if data else '{}'}\t{at.isoformat()}"
    )


class _Writer:
    """Appends rows to tables: COPY on PostgreSQL, executemany elsewhere."""

    _ESCAPE = _SAFE
    # The common types, looked up by exact class (the fast path for millions of values).
    _CONVERT = {
        type(None): lambda v: "\\N",
        bool: lambda v: "t" if v else "f",
        int: int.__repr__,
        str: lambda v: v.translate(_Writer._ESCAPE),
        datetime: datetime.isoformat,
        date: date.isoformat,
        dict: lambda v: _json(v).translate(_Writer._ESCAPE),
        uuid.UUID: uuid.UUID.__str__,
        Decimal: Decimal.__str__,
    }

    def __init__(self):
        self._db_columns = {}
        self.trusted = None
        self.thread = None
        self.error = None

    def start(self):
        """Write in a background thread (its own connection) while the next batch is built.

        Only outside a transaction: inside one (a test, say) the rows must go through
        the caller's own connection.
        """
        if not connection.in_atomic_block:
            self.queue = queue.Queue(maxsize=2)
            self.thread = threading.Thread(target=self._background, name="seed-writer", daemon=True)
            self.thread.start()

    def submit(self, tables):
        """Write ``[(model, field names, rows), ...]`` in one transaction, now or in the background."""
        if self.thread is None:
            self._write_batch(tables)
            return
        if self.error is not None:
            raise CommandError(f"Writing failed: {self.error}") from self.error
        self.queue.put(tables)

    def finish(self):
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        if self.error is not None:
            raise CommandError(f"Writing failed: {self.error}") from self.error

    def _background(self):
        try:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")  # a crash loses a seed, nothing more
            except BaseException as exc:
                self.error = exc
            while True:
                tables = self.queue.get()
                if tables is None:
                    return
                if self.error is None:
                    try:
                        self._write_batch(tables)
                    except BaseException as exc:  # reported by the main thread; keep draining the queue
                        self.error = exc
        finally:
            connection.close()

    def _write_batch(self, tables):
        with transaction.atomic():
            self.trust_references()
            for model, names, rows, *line in tables:
                self.write(model, names, rows, *line)

    def trust_references(self):
        """Skip per-row foreign-key checks for the rest of this transaction, where allowed.

        The rows written here refer only to ids this command has just written or
        read, so PostgreSQL's checks would find nothing; skipping them (as
        ``pg_restore --disable-triggers`` does) halves the time of a large seed.
        It needs a superuser; anyone else gets the ordinary checks. Replica mode
        also silences ordinary triggers, so it is used only while no table
        written here has a trigger of its own that fires on INSERT.
        """
        if self.trusted is False:
            return
        if self.trusted is None and self._insert_triggers():
            self.trusted = False
            return
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            self.trusted = True
        except DatabaseError:
            self.trusted = False

    def _insert_triggers(self) -> list[str]:
        tables = [m._meta.db_table for m in (Customer, Site, Equipment, WorkOrder, WorkOrderEvent)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND (tgtype & 4) <> 0 "
                "AND tgrelid IN (SELECT oid FROM pg_class WHERE relname = ANY(%s))",
                [tables],
            )
            return [row[0] for row in cursor.fetchall()]

    def columns(self, model, names):
        fields = [model._meta.get_field(n) for n in names]
        given = {f.column for f in fields}
        # Columns added later by other features: fill with their defaults, so
        # that the seeder keeps working as the model grows.
        table = model._meta.db_table
        if table not in self._db_columns:
            with connection.cursor() as cursor:
                self._db_columns[table] = {
                    c.name for c in connection.introspection.get_table_description(cursor, table)
                }
        # A column with only a database default (e.g. now()) is left to the database.
        extra = [
            f for f in model._meta.concrete_fields
            if f.column not in given and not f.primary_key and f.column in self._db_columns[table]
            and (f.has_default() or not f.has_db_default())
        ]
        return fields, extra

    @classmethod
    def _pg_text(cls, value):
        """A value in COPY's text format."""
        convert = cls._CONVERT.get(value.__class__)
        return convert(value) if convert is not None else cls._pg_other(value)

    @classmethod
    def _pg_other(cls, value):
        if isinstance(value, str):
            return value.translate(cls._ESCAPE)
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        if isinstance(value, (dict, list)):
            return _json(value).translate(cls._ESCAPE)
        return str(value)

    def write(self, model, names, rows, line=None):
        """Append ``rows`` (tuples in the order of ``names``); ``line`` formats one for COPY, faster."""
        if not rows:
            return
        fields, extra = self.columns(model, names)
        table = connection.ops.quote_name(model._meta.db_table)
        cols = [f.column for f in fields] + [f.column for f in extra]
        col_sql = ", ".join(connection.ops.quote_name(c) for c in cols)
        if any(f.unique and callable(f.default) for f in extra):
            # A unique column (a token, say) needs a fresh default on every row.
            rows = [tuple(row) + tuple(f.get_default() for f in extra) for row in rows]
            fields, extra, line = fields + extra, [], None
        defaults = [f.get_default() for f in extra]
        with connection.cursor() as cursor:
            tail = "".join("\t" + self._pg_text(v) for v in defaults)
            text = self._pg_text
            line = line or (lambda row: "\t".join(map(text, row)))
            buf = io.StringIO()
            buf.writelines(line(row) + tail + "\n" for row in rows)
            buf.seek(0)
            raw = cursor.cursor
            sql = f"COPY {table} ({col_sql}) FROM STDIN"
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, buf)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buf.getvalue())


class Command(BaseCommand):
    help = "Load realistic demo data: users for each role, technicians, customers and N work orders."

    def add_arguments(self, parser):
        parser.add_argument("--work-orders", type=int, default=1000, help="how many work orders (default 1000)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when work orders already exist")
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeatable data")
        parser.add_argument(
            "--flush", action="store_true",
            help="first remove all work orders, their events, customers, sites and equipment",
        )
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--story-orders", type=int, default=100_000,
            help="completion reports, surveys and escalations for the most recent N orders (default 100000)",
        )

    # ------------------------------------------------------------------ entry

    def handle(self, *args, **options):
        n = options["work_orders"]
        if n < 0:
            raise CommandError("--work-orders must be 0 or more.")
        existing = WorkOrder.objects.count() if WorkOrder.objects.exists() else 0
        if existing and options["if_empty"]:
            self.stdout.write(f"{existing} work orders already exist; nothing to seed (--if-empty).")
            self._print_logins()
            return
        if existing and not options["flush"]:
            raise CommandError(
                f"The database already has {existing} work orders. Use --flush to replace them "
                "or --if-empty to keep them."
            )
        seed = options["seed"] if options["seed"] is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(seed)
        self.progress = not options["no_progress"]
        self.batch_size = max(100, options["batch_size"])
        self.writer = _Writer()
        self.now = timezone.now()
        self.tz = timezone.get_current_timezone()
        started = time.monotonic()

        self._prepare_replay()
        if options["flush"]:
            self._flush()
        with transaction.atomic():
            self._master_data(n)
        self.writer.start()
        try:
            self._customers(n)
            self._work_orders(n)
        finally:
            self.writer.finish()
        # Sequences move past the ids written above, so the next request numbers after them.
        self._reset_sequences()
        # Fresh statistics for the planner, and (outside a transaction) the
        # visibility map too, as autovacuum would leave it some time later.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (Customer, Site, Equipment, WorkOrder, WorkOrderEvent):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")
        # Finished work, surveys, knowledge base and the reports' figures (demo/story.py).
        story = Story(self, limit=options["story_orders"]).tell()

        visits = self._maintenance()
        # The day rollups of the summary rows: their triggers are silent while the seed trusts its
        # references (trust_references, replica mode), so they are added up once here.
        rollup.refill()

        elapsed = time.monotonic() - started
        self.stdout.write(f"Maintenance: {visits} planned visits with their work orders in the coming weeks.")
        self.stdout.write(
            f"Seeded {n} work orders with {self.event_count} events, {self.customer_count} customers and "
            f"{len(self.techs)} technicians in {elapsed:.1f} s (seed {seed})."
        )
        self.stdout.write("Story: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in story.items()) + ".")
        self._print_logins()

    def _maintenance(self) -> int:
        """Preventive maintenance: three chillers on one customer's site under a service contract,
        serviced every quarter, two air conditioners cleaned every month and one chiller by its
        meter (run hours); then the sweep the beat task runs, so the coming visits are on the board."""
        site = Site.objects.filter(customer__equipment__isnull=False).select_related("customer").order_by("pk").first()
        if site is None:
            return 0
        customer = site.customer
        # Its flow skips the call-back: a maintenance visit closes once resolved (catalog.flows).
        st, _ = ServiceType.objects.get_or_create(code="chiller-maintenance", defaults={
            "name": "冷水机组保养 Chiller maintenance", "default_duration_minutes": 180, "callout_fee": Decimal(0),
            "description": "冷水机组定期保养 Scheduled chiller maintenance", "requires_follow_up": False})
        clean = ServiceType.objects.filter(code="aircon-clean").first() or st
        today = timezone.localdate()
        contract = Contract.objects.create(
            number=f"PM-{today.year}-{customer.pk:05d}", customer=customer, starts_on=today.replace(month=1, day=1),
            ends_on=today.replace(year=today.year + 1, month=12, day=31), covered_percent=100,
            notes="Demo: quarterly chiller maintenance")
        technician = self.users["technician"].technician
        checklist = "检查冷媒压力 Check refrigerant pressure\n清洗冷凝器 Clean the condenser coils\n" \
                    "检查压缩机电流 Check the compressor current\n记录运行小时 Record the run hours"
        chillers = []
        for i in range(1, 4):
            chillers.append(Equipment.objects.create(
                customer=customer, site=site, serial=f"DEMO-CH-{customer.pk:05d}-{i}", brand="Carrier",
                model="30XA 冷水机组 chiller", install_date=today.replace(year=today.year - 3)))
        for chiller in chillers:
            MaintenancePlan.objects.create(
                name=f"冷水机组季度保养 Quarterly chiller service · {chiller.serial}", equipment=chiller,
                contract=contract, service_type=st, unit=MaintenancePlan.Unit.MONTHS, every=3,
                starts_on=today + timedelta(days=7), checklist=checklist, preferred_technician=technician)
        MaintenancePlan.objects.create(
            name="冷水机组按运行小时保养 Chiller service every 500 run hours", equipment=chillers[0],
            service_type=st, unit=MaintenancePlan.Unit.METER, every=500, meter_start=12000, checklist=checklist)
        MeterReading.objects.create(equipment=chillers[0], value=12530, read_on=today)
        for equipment in Equipment.objects.exclude(pk__in=[c.pk for c in chillers]).order_by("pk")[:2]:
            MaintenancePlan.objects.create(
                name=f"空调月度清洗 Monthly air conditioner cleaning · {equipment.serial}", equipment=equipment,
                service_type=clean, unit=MaintenancePlan.Unit.MONTHS, every=1, starts_on=today + timedelta(days=3),
                checklist="清洗滤网 Clean the filters\n检查排水 Check the drain")
        created = plans_sweep(today=today)
        # Their summary rows for the dashboard now, as the story built the others' (the beat's reports sweep would).
        facts_refresh(work_order_ids=list(
            WorkOrder.objects.filter(channel=WorkOrder.Channel.MAINTENANCE).values_list("pk", flat=True)))
        return created

    def _print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for username, role, _staff, _name in DEMO_USERS:
            label = R.LABELS.get(role, "superuser") if role else "superuser"
            self.stdout.write(f"  {username:<12} {label}")

    def _flush(self):
        tables = [m._meta.db_table for m in (WorkOrderEvent, WorkOrder, Equipment, Site, Customer, SuggestionOutcome,
                                             Notification)]
        # TRUNCATE, not DELETE: events are append-only (a trigger refuses DELETE).
        # CASCADE empties whatever else points at these rows (attachments, ...). Suggestion
        # outcomes and the outbox name their orders by id, without a foreign key, so they are
        # named here: the numbering restarts, and a kept row would describe a new order. The same holds
        # for the stock ledger's reservations, so the demo stock starts again too (_stock).
        names = ", ".join(connection.ops.quote_name(t) for t in tables)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            # The demo stock (a few hundred rows) by DELETE: its rows may have been written in this
            # transaction, whose pending foreign-key checks TRUNCATE would refuse to skip.
            for model in (StockMove, SerialUnit, StockLevel, StockLocation):
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")

    # ------------------------------------------------------------ master data

    def _master_data(self, n):
        rng = self.rng
        self.password_hash = make_password(DEMO_PASSWORD)
        groups = {g.name: g for g in Group.objects.filter(name__in=R.STAFF_ROLES)}
        for name in R.STAFF_ROLES:
            if name not in groups:
                groups[name] = Group.objects.create(name=name)

        skills = {}
        for code, name in SKILLS:
            skills[code], _ = Skill.objects.get_or_create(code=code, defaults=bilingual("name", name))
        self.service_types = []
        for code, name, minutes, fee, review, required, kind, weight in SERVICE_TYPES:
            st, _ = ServiceType.objects.get_or_create(
                code=code,
                defaults={**bilingual("name", name), "default_duration_minutes": minutes, "callout_fee": Decimal(fee),
                          "requires_review": review, **bilingual("description", name)},
            )
            for skill_code, level in required:
                ServiceTypeSkill.objects.get_or_create(
                    service_type=st, skill=skills[skill_code], defaults={"min_level": level}
                )
            self.service_types.append((st, kind, weight))
        self.st_values, self.st_cum = _weighted([(i, w) for i, (_, _, w) in enumerate(self.service_types)])
        self._inspection(skills)

        partners = [PartnerCompany.objects.get_or_create(name=name, defaults={
            "contact_phone": f"+86216{rng.randrange(10**7):07d}"})[0] for name in PARTNERS]

        # Demo users, one per role.
        self.users = {}
        for username, role, staff, first in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username, defaults={"first_name": first})
            user.password = self.password_hash
            user.is_staff = staff
            user.is_superuser = role is None
            user.is_active = True
            user.save()
            if role:
                user.groups.add(groups[role])
            self.users[username] = user
        for username, partner in (("technician", None), ("partner", partners[0])):
            Technician.objects.get_or_create(
                user=self.users[username],
                defaults={"phone": f"+86137{rng.randrange(10**8):08d}", "partner_company": partner,
                          **self._home_base()},
            )

        self._field_technicians(n, groups, skills, partners)
        # The demo technicians can do the common jobs, so their pages have work on them.
        for username, codes in (("technician", ["aircon", "laundry", "installation", "electrical"]),
                                ("partner", ["plumbing", "gas", "refrigeration", "installation"])):
            tech = self.users[username].technician
            for code in codes:
                TechnicianSkill.objects.update_or_create(technician=tech, skill=skills[code], defaults={"level": 4})
        self._load_technicians()
        # Every service type needs people who can do it.
        for st, _, _ in self.service_types:
            while len(self.qualified[st.pk]) < 3:
                tech = rng.choice(self.techs)
                for req in st.required_skills.all():
                    TechnicianSkill.objects.update_or_create(
                        technician_id=tech["id"], skill_id=req.skill_id, defaults={"level": max(req.min_level, 3)}
                    )
                self._load_technicians()
        self._stock(partners[0])

    def _field_technicians(self, n, groups, skills, partners):
        """Field technicians: about 50 per 100,000 work orders, at least 10 (those missing), with skills."""
        rng = self.rng
        wanted = max(10, round(n * 50 / 100_000))
        have = Technician.objects.count()
        if have < wanted:
            taken = set(User.objects.filter(username__startswith="tech").values_list("username", flat=True))
            new_users, i = [], 1
            while len(new_users) < wanted - have:
                username = f"tech{i:03d}"
                i += 1
                if username in taken:
                    continue
                new_users.append(User(username=username, first_name=self._chinese_name(), password=self.password_hash))
            User.objects.bulk_create(new_users, batch_size=1000)
            new_users = list(User.objects.filter(username__in=[u.username for u in new_users]))
            techs, memberships = [], []
            for user in new_users:
                partner = rng.choice(partners) if rng.random() < 0.25 else None
                role = R.PARTNER_TECHNICIAN if partner else R.TECHNICIAN
                memberships.append(User.groups.through(user_id=user.pk, group_id=groups[role].pk))
                techs.append(Technician(user=user, phone=f"+86137{rng.randrange(10**8):08d}",
                                        partner_company=partner, **self._home_base()))
            User.groups.through.objects.bulk_create(memberships, ignore_conflicts=True, batch_size=1000)
            Technician.objects.bulk_create(techs, batch_size=1000)
            levels = []
            codes = list(skills)
            for tech in Technician.objects.filter(user__in=new_users):
                for code in rng.sample(codes, rng.randint(2, 4)):
                    levels.append(TechnicianSkill(technician=tech, skill=skills[code],
                                                  level=rng.choices([1, 2, 3, 4, 5], [1, 3, 4, 3, 1])[0]))
            TechnicianSkill.objects.bulk_create(levels, ignore_conflicts=True, batch_size=1000)

    def _inspection(self, skills):
        """The inspection service type: a required before-photo, a yes/no answer and a five-item
        checklist, all required to complete it; an optional question at intake."""
        code, name, minutes, fee, required = INSPECTION
        st, _ = ServiceType.objects.get_or_create(
            code=code, defaults={**bilingual("name", name), "default_duration_minutes": minutes,
                                 "callout_fee": Decimal(fee), **bilingual("description", name)},
        )
        # Its flow: the technician takes a photo on arrival, before starting (catalog.flows).
        if st.before_photos_min < INSPECTION_BEFORE_PHOTOS:
            st.before_photos_min = INSPECTION_BEFORE_PHOTOS
            st.save(update_fields=["before_photos_min", "updated_at"])
        for skill_code, level in required:
            ServiceTypeSkill.objects.get_or_create(service_type=st, skill=skills[skill_code],
                                                   defaults={"min_level": level})
        for position, text in enumerate(INSPECTION_CHECKLIST):
            ChecklistItem.objects.get_or_create(
                service_type=st, text_zh_hans=bilingual("text", text)["text_zh_hans"],
                defaults={**bilingual("text", text), "mandatory": True, "position": position},
            )
        for position, (key, label, kind, (zh, en), mandatory, stage) in enumerate(INSPECTION_FIELDS):
            CustomField.objects.get_or_create(
                service_type=st, key=key,
                defaults={**bilingual("label", label), "kind": kind, "choices": zh, "choices_zh_hans": zh or None,
                          "choices_en": en or None, "required": mandatory, "stage": stage, "position": position},
            )

    def _stock(self, partner):
        """Parts, a central warehouse, vans for the demo technician and a few others, a partner's store,
        and some stock in each (only the first time: kept across --flush like the other master data)."""
        for number, name, unit, price, serialized, needed_by in PARTS:
            part, _ = Part.objects.get_or_create(part_number=number, defaults={
                **bilingual("name", name), "unit": unit, "unit_price": Decimal(price), "serialized": serialized,
                "unit_cost": (Decimal(price) * PART_COST_SHARE).quantize(Decimal("0.01"))})
            for code, quantity in needed_by:
                st = ServiceType.objects.filter(code=code).first()
                if st is not None:
                    ServiceTypePart.objects.get_or_create(service_type=st, part=part,
                                                          defaults={"quantity": Decimal(quantity)})
        if StockLocation.objects.exists():
            return
        manager = self.users["manager"]
        parts = {p.part_number: p for p in Part.objects.filter(part_number__in=[row[0] for row in PARTS])}
        warehouse = StockLocation.objects.create(code="wh-shanghai", name="上海中心仓 Shanghai warehouse",
                                                 kind=StockLocation.Kind.WAREHOUSE, latitude=Decimal("31.230400"),
                                                 longitude=Decimal("121.473700"))
        StockLocation.objects.create(code=f"store-{partner.pk}", name=f"{partner.name} store",
                                     kind=StockLocation.Kind.PARTNER_STORE, partner_company=partner)
        serial = iter(range(1, 10**6))
        for number, part in parts.items():
            quantity = 40 if not part.serialized else 12
            serials = [f"{number}-{next(serial):05d}" for _ in range(quantity)] if part.serialized else None
            stock_receive(location_id=warehouse.pk, part_id=part.pk, quantity=quantity, actor=manager,
                          reason="demo", serials=serials)
        own = [self.users["technician"].technician] + list(
            Technician.objects.filter(partner_company__isnull=True, active=True)
            .exclude(user=self.users["technician"]).order_by("pk")[:5])
        for tech in own:
            van = StockLocation.objects.create(code=f"van-{tech.pk}", name=f"{tech} van",
                                               kind=StockLocation.Kind.VAN, technician=tech)
            for number, quantity in VAN_STOCK.items():
                part = parts[number]
                serials = None
                if part.serialized:
                    serials = list(part.serial_units.filter(location=warehouse).order_by("pk")
                                   .values_list("serial", flat=True)[:int(quantity)])
                stock_transfer(source_id=warehouse.pk, destination_id=van.pk, part_id=part.pk, quantity=quantity,
                               actor=manager, reason="demo", serials=serials)

    def _load_technicians(self):
        techs = list(
            Technician.objects.filter(active=True)
            .select_related("user")
            .prefetch_related("skill_levels")
            .order_by("pk")
        )
        self.techs = []
        for t in techs:
            self.techs.append({
                "id": t.pk, "user_id": t.user_id, "name": str(t),
                "role": R.PARTNER_TECHNICIAN if t.partner_company_id else R.TECHNICIAN,
                "lat": float(t.home_latitude or 31.23), "lng": float(t.home_longitude or 121.47),
                "skills": {s.skill_id: s.level for s in t.skill_levels.all()},
                "obj": t,  # what the replay gives orders to (``technician.give``)
            })
        self.tech_by_id = {t["id"]: t for t in self.techs}
        self.qualified = {}
        for st, _, _ in self.service_types:
            required = [(r.skill_id, r.min_level) for r in st.required_skills.all()]
            self.qualified[st.pk] = [t for t in self.techs if all(t["skills"].get(s, 0) >= lv for s, lv in required)]

    def _home_base(self):
        lat, lng = self._point()
        return {"home_latitude": Decimal(f"{lat:.6f}"), "home_longitude": Decimal(f"{lng:.6f}")}

    def _point(self, district=None):
        rng = self.rng
        _, clat, clng, _ = district or rng.choice(DISTRICTS)
        lat = min(max(rng.gauss(clat, 0.025), LAT_RANGE[0]), LAT_RANGE[1])
        lng = min(max(rng.gauss(clng, 0.03), LNG_RANGE[0]), LNG_RANGE[1])
        return lat, lng

    def _chinese_name(self):
        rng = self.rng
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))

    # -------------------------------------------------- customers and sites

    def _customers(self, n):
        """Customers (about one per four orders), their sites and equipment."""
        rng = self.rng
        count = max(20, n // 4)
        self.customer_count = count
        ids = {m: (m.objects.aggregate(m=Max("pk"))["m"] or 0) + 1 for m in (Customer, Site, Equipment)}
        tier_values, tier_cum = _weighted(TIERS)
        # Phone numbers: a unique 8-digit tail per customer behind common mobile prefixes.
        prefixes = ["139", "138", "137", "136", "135", "188", "186", "158", "159", "150", "133", "177"]
        offset = ids[Customer]
        kinds = list(EQUIPMENT)
        self.cust = []  # per customer: (id, name, phone, email, language, sites)
        customer_rows, site_rows, equipment_rows = [], [], []
        year_ago = self.now - timedelta(days=400)
        bar = tqdm(total=count, desc="customers", unit="", disable=not self.progress, leave=False)

        def flush():
            self.writer.submit([
                (Customer, ["id", "name", "phone", "email", "tier", "language", "notes", "created_at"],
                 customer_rows[:]),
                (Site, ["id", "customer", "label", "address", "city", "latitude", "longitude"], site_rows[:]),
                (Equipment, ["id", "customer", "site", "serial", "brand", "model", "install_date", "warranty_end"],
                 equipment_rows[:]),
            ])
            bar.update(len(customer_rows))
            customer_rows.clear()
            site_rows.clear()
            equipment_rows.clear()

        for i in range(count):
            cid = ids[Customer] + i
            english = rng.random() < 0.06
            if english:
                name = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}"
                language = "en"
            else:
                name = self._chinese_name()
                language = "zh-hans"
            k = offset + i
            phone = f"+86{prefixes[k % len(prefixes)]}{(k // len(prefixes) * 7_654_321 + 1234) % 10**8:08d}"
            email = f"c{cid}@example.com" if rng.random() < 0.3 else ""
            tier = tier_values[_bisect(tier_cum, rng.random() * tier_cum[-1])]
            created = year_ago + timedelta(seconds=rng.random() * 30 * DAY)
            customer_rows.append((cid, name, phone, email, tier, language, "", created))
            sites = []
            for label in (["家 Home"] if rng.random() < 0.8 else ["家 Home", "公司 Office"]):
                sid = ids[Site]
                ids[Site] += 1
                district = rng.choice(DISTRICTS)
                dname, _, _, roads = district
                address = (f"上海市{dname}{rng.choice(roads)}{rng.randint(1, 2999)}号"
                           f"{rng.randint(1, 30)}栋{rng.randint(1, 32)}{rng.randint(1, 4):02d}室")
                lat, lng = self._point(district)
                site_rows.append((sid, cid, label, address, "上海 Shanghai", f"{lat:.6f}", f"{lng:.6f}"))
                equipment = {}
                for kind in rng.sample(kinds, rng.choice((0, 1, 1, 2, 3))):
                    eid = ids[Equipment]
                    ids[Equipment] += 1
                    brand, model = rng.choice(EQUIPMENT[kind])
                    installed = (self.now - timedelta(days=rng.randint(30, 3000))).date()
                    equipment_rows.append((eid, cid, sid, f"SN{kind[:2].upper()}{eid:09d}", brand, model, installed,
                                           installed + timedelta(days=365 * rng.choice((1, 2, 3, 6)))))
                    equipment[kind] = eid
                sites.append((sid, address, lat, lng, equipment))
            self.cust.append((cid, name, phone, email, language, sites))
            if len(customer_rows) >= self.batch_size:
                flush()
        flush()
        bar.close()

    def _reset_sequences(self):
        statements = connection.ops.sequence_reset_sql(no_style(), [Customer, Site, Equipment, WorkOrder])
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    # ----------------------------------------------------------- work orders

    def _creation_times(self, n):
        """n creation times over the past 12 months, in order, busy in the day."""
        rng = self.rng
        tz = timezone.get_current_timezone()
        local_now = self.now.astimezone(tz)
        first_day = (local_now - timedelta(days=365)).replace(hour=0, minute=0, second=0, microsecond=0)
        base = first_day.timestamp()
        now_ts = self.now.timestamp()
        hour_values, hour_cum = _weighted(list(enumerate(HOURS)))
        times = []
        for _ in range(n):
            hour = hour_values[_bisect(hour_cum, rng.random() * hour_cum[-1])]
            t = base + rng.randrange(366) * DAY + hour * 3600 + rng.random() * 3600
            if t > now_ts - 60:
                t = now_ts - 60 - rng.random() * 6 * 3600
            times.append(t)
        times.sort()
        return times

    def _final_states(self, times):
        """Where each order stands now, by its age (STATUS_BY_AGE)."""
        rng = self.rng
        n = len(times)
        now_ts = self.now.timestamp()
        status_tables = [(limit, *_weighted(list(weights.items()))) for limit, weights in STATUS_BY_AGE]
        finals = []
        for t in times:
            age_days = (now_ts - t) / DAY
            for limit, values, cum in status_tables:
                if age_days < limit:
                    finals.append(values[_bisect(cum, rng.random() * cum[-1])])
                    break
        # Small runs still show every state: put the missing ones on recent orders.
        missing = [s for s in Status.values if s not in set(finals)]
        for k, status in enumerate(missing):
            index = n - 1 - k * 2
            if index >= 0:
                finals[index] = status
        return finals

    def _work_orders(self, n):
        """n work orders over the past year, each with the events that led it where it stands."""
        rng = self.rng
        times = self._creation_times(n)
        now_ts = self.now.timestamp()
        start_id = (WorkOrder.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
        prio_values, prio_cum = _weighted(PRIORITIES)
        chan_values, chan_cum = _weighted(CHANNELS)
        finals = self._final_states(times)

        self.event_count = 0
        self.busy = {}  # technician id -> list of active appointment intervals (timestamps)
        # Open jobs per technician stay below the dispatch capacity, with room to spare
        # so that a dispatcher trying the demo can still assign work to anyone.
        self.open_jobs = {t["id"]: 0 for t in self.techs}
        self.max_open = max(1, getattr(settings, "DISPATCH_CAPACITY", 6) - 2)
        agent, dispatcher, manager = (self.users[u].pk for u in ("agent", "dispatcher", "manager"))
        self.office = {"agent": agent, "dispatcher": dispatcher, "manager": manager}
        n_cust = len(self.cust)
        wo_fields = WO_FIELDS + self.replayed_fields
        bar = tqdm(total=n, desc="work orders", unit="", disable=not self.progress)
        wo_rows, event_rows = [], []

        def flush():
            self.writer.submit([
                (WorkOrder, wo_fields, wo_rows[:], _work_order_line),
                (WorkOrderEvent, EVENT_FIELDS, event_rows[:], _event_line),
            ])
            bar.update(len(wo_rows))
            self.event_count += len(event_rows)
            wo_rows.clear()
            event_rows.clear()

        for i, (t, final) in enumerate(zip(times, finals)):
            wid = start_id + i
            # Repeat callers: a few customers call often.
            cid, name, phone, email, language, sites = self.cust[int(n_cust * rng.random() ** 1.6)]
            sid, address, lat, lng, equipment = rng.choice(sites)
            st_index = self.st_values[_bisect(self.st_cum, rng.random() * self.st_cum[-1])]
            st, kind, _ = self.service_types[st_index]
            channel = chan_values[_bisect(chan_cum, rng.random() * chan_cum[-1])]
            priority = prio_values[_bisect(prio_cum, rng.random() * prio_cum[-1])]
            pref_start = pref_end = None
            if rng.random() < 0.5:
                day = datetime.fromtimestamp(t + DAY * rng.randint(1, 3), self.tz)
                pref_start = day.replace(hour=rng.choice((9, 10, 13, 14)), minute=0, second=0, microsecond=0)
                pref_end = pref_start + timedelta(hours=rng.choice((2, 3, 4)))
            if final in ACTIVE and sum(
                1 for c in self.qualified[st.pk] if self.open_jobs[c["id"]] < self.max_open
            ) < 2:
                final = S.NEW  # everyone who could do it is busy: it waits in the queue
            replayed = self._replay(wid, t, final, st, (lat, lng), channel, now_ts, event_rows)
            wo_rows.append((
                wid, priority, channel, cid, sid, equipment.get(kind) if rng.random() < 0.7 else None,
                st.pk, name, phone, email, address, rng.choice(PROBLEMS[st.code]), pref_start, pref_end, language,
                secrets.token_urlsafe(18),
                uuid.UUID(int=rng.getrandbits(128), version=4) if channel != WorkOrder.Channel.PHONE else None,
                agent if channel == WorkOrder.Channel.PHONE else None,
                datetime.fromtimestamp(t, UTC), *replayed,
            ))
            if len(wo_rows) >= self.batch_size:
                flush()
        flush()
        bar.close()

    def _pick_technician(self, st, site, exclude=None, need_room=False):
        rng = self.rng
        pool = self.qualified[st.pk] or self.techs
        if need_room:
            pool = [c for c in pool if self.open_jobs[c["id"]] < self.max_open]
        candidates = [rng.choice(pool) for _ in range(3)]
        candidates = [c for c in candidates if c["id"] != exclude] or [c for c in pool if c["id"] != exclude]
        if not candidates:
            return rng.choice(pool)
        lat, lng = site
        return min(candidates, key=lambda c: (c["lat"] - lat) ** 2 + (c["lng"] - lng) ** 2)

    def _prepare_replay(self):
        """The table's rows as the replay runs them (``_replay_plan``: refused before anything is
        written when one names an effect it cannot run) and the one unsaved order it runs them on.
        One order and one Ctx serve every step (making a WorkOrder costs more than replaying a history)."""
        self.plan, self.replayed_fields = _replay_plan()
        self.day_starts, self.days = [], []  # _working_day's: local midnights (sorted) and their days
        attnames = [WorkOrder._meta.get_field(name).attname for name in self.replayed_fields]
        self.order = WorkOrder()
        self.blank = {attname: getattr(self.order, attname) for attname in attnames}  # a new order's values
        # Relations are set through their descriptors (which drop the related object held).
        self.blank_relations = [attname for name, attname in zip(self.replayed_fields, attnames)
                                if WorkOrder._meta.get_field(name).is_relation]
        self.replayed = attrgetter(*attnames)  # the order's replayed columns, in replayed_fields' order
        self.ctx = hooks.Ctx(work_order=self.order, transition=None, from_status="", target="", now=self.now,
                             actor=None, role="")

    def _replay(self, wid, created_ts, final, st, site, channel, now_ts, event_rows):
        """Walk the lifecycle from creation to ``final`` (``_lifecycle_path``) on the unsaved order,
        through the table's rows: a step must leave from the order's state in the role that fires it
        (``_actor``), else CommandError; the order goes to the row's target and the row's effects run
        on it. Appends the events; returns the order's replayed columns."""
        rng, wo, ctx = self.rng, self.order, self.ctx
        path = _lifecycle_path(final, rng)
        offsets, scale = self._offsets(path, created_ts, st, now_ts)
        created = datetime.fromtimestamp(created_ts, UTC)
        for attname in self.blank_relations:
            setattr(wo, attname, self.blank[attname])
        wo.__dict__.update(self.blank, updated_at=created)
        event_rows.append((wid, "create", "", S.NEW, self.office["agent"] if channel == "phone" else None,
                           CREATED_BY[channel], "", None, None, {"channel": channel}, created))
        window = None
        for action, (offset, appointment) in zip(path, offsets):
            step = self.plan[action]
            at_ts = created_ts + offset * scale
            ctx.now = at = datetime.fromtimestamp(at_ts, UTC)
            ctx.event_data = data = {}
            if step.transition.needs_technician:
                window = self._give(ctx, st, site, final, created_ts + appointment * scale, at_ts)
            actor, role, position = self._actor(action, st, site)
            status = wo.status
            if (status, role) not in step.allowed:
                raise CommandError(
                    f"The lifecycle table does not let the role {role!r} fire {action!r} from '{status}' (order "
                    f"{wid}, history {path}): the demo's story (_lifecycle_path, _actor) no longer fits it."
                )
            note = rng.choice(REASONS[action]) if step.transition.reason_required or action in REASONS else ""
            ctx.transition, ctx.from_status, ctx.role, ctx.note = step.transition, status, role, note
            ctx.target = wo.status = step.target or step.transition.target_for(wo)
            for effect in step.effects:
                effect(ctx)
            wo.updated_at = at
            event_rows.append((wid, action, status, wo.status, actor, role, note, *position, data, at))
        if wo.status != final:
            raise CommandError(f"The history {path} of order {wid} ends in '{wo.status}', not '{final}', by the "
                               "lifecycle table: the demo's story (_lifecycle_path) no longer fits it.")
        if final in ACTIVE:
            self.open_jobs[wo.technician_id] += 1
            if wo.appointment_start is not None:  # booked: moved later until it overlaps no other
                start, end = self._book(wo.technician_id, window)
                wo.appointment_start = datetime.fromtimestamp(start, UTC)
                wo.appointment_end = datetime.fromtimestamp(end, UTC)
        return self.replayed(wo)

    def _offsets(self, path, created_ts, st, now_ts):
        """When each step of ``path`` happens, in seconds after creation, with the appointment's start
        as the last give set it; and the factor that squeezes them all before now."""
        rng = self.rng
        duration = st.default_duration_minutes * 60
        offsets, elapsed, appointment = [], 0.0, None
        for action in path:
            low, high = DELAYS[action]
            step = rng.uniform(low, high) * 60
            if self.plan[action].transition.needs_technician:
                elapsed += step
                appointment = elapsed + rng.uniform(1, 36) * 3600
                appointment = self._working_start(created_ts + appointment, duration) - created_ts
            elif action == "depart" and appointment is not None:
                elapsed = max(elapsed + 60, appointment - step)
            elif action == "complete":
                elapsed += duration * rng.uniform(0.6, 1.6)
            else:
                elapsed += step
            offsets.append((elapsed, appointment))
        room = now_ts - 30 - created_ts
        return offsets, (min(1.0, room / elapsed) if elapsed > 0 else 1.0)

    def _give(self, ctx, st, site, final, appointment_ts, at_ts):
        """Whom the order goes to (``technician.give`` records it) and when: a qualified technician near
        the site (with room, when the order stays open), on the half hour, in the working day. Sets them
        on ``ctx``; returns the window (timestamps)."""
        tech = self._pick_technician(st, site, exclude=self.order.technician_id, need_room=final in ACTIVE)
        duration = st.default_duration_minutes * 60
        start = appointment_ts - appointment_ts % 1800  # on the half hour
        start = self._working_start(max(start, at_ts + 1800 - at_ts % 1800), duration)
        ctx.technician = tech["obj"]
        ctx.appointment_start = datetime.fromtimestamp(start, UTC)
        ctx.appointment_end = datetime.fromtimestamp(start + duration, UTC)
        return start, start + duration

    def _actor(self, action, st, site):
        """Who fires ``action`` in the demo (user id or None, role) and where they stand (latitude and
        longitude as text, or None): the demo's cast. The table says which roles may (``_replay``)."""
        rng, office = self.rng, self.office
        if action in BY_TECHNICIAN or (action in ("hold", "resume") and rng.random() < 0.7):
            tech = self.tech_by_id[self.order.technician_id]  # the technician who has the order
            if action == "depart":  # from near home
                lat, lng = tech["lat"] + rng.uniform(-0.01, 0.01), tech["lng"] + rng.uniform(-0.01, 0.01)
            elif action in ("arrive", "complete"):  # on site
                lat, lng = site[0] + rng.uniform(-0.0005, 0.0005), site[1] + rng.uniform(-0.0005, 0.0005)
            else:
                return tech["user_id"], tech["role"], NOWHERE
            return tech["user_id"], tech["role"], (f"{lat:.6f}", f"{lng:.6f}")
        if action in ("assign", "reassign"):
            return (None, R.SYSTEM, NOWHERE) if rng.random() < 0.15 else (office["dispatcher"], R.DISPATCHER, NOWHERE)
        if action in ("unassign", "hold", "resume"):
            return office["dispatcher"], R.DISPATCHER, NOWHERE
        if action in ("reopen", "cancel"):
            who = rng.choice(("manager", "agent") if action == "reopen" else ("agent", "dispatcher", "manager"))
            return office[who], who, NOWHERE
        if action == "follow_up":  # a manager after the review the service type asks for
            return (office["manager"], R.MANAGER, NOWHERE) if st.requires_review else (None, R.SYSTEM, NOWHERE)
        if action == "close":  # a good survey answer, the survey expiring, a manager after a call-back
            r = rng.random()
            return (None, R.CUSTOMER, NOWHERE) if r < 0.6 else (None, R.SYSTEM, NOWHERE) if r < 0.9 else (
                office["manager"], R.MANAGER, NOWHERE)
        raise CommandError(f"No one fires {action!r} in the demo's story (_actor).")

    def _book(self, tech_id, slot):
        """Move an active appointment later until it overlaps none of the technician's others."""
        booked = self.busy.setdefault(tech_id, [])
        start, end = slot
        duration = end - start
        moved = True
        while moved:
            moved = False
            for b_start, b_end in booked:
                if start < b_end and b_start < end:
                    start = self._working_start(b_end, duration)
                    end = start + duration
                    moved = True
        booked.append((start, end))
        return start, end

    def _working_start(self, ts, duration):
        """The first time at or after ``ts`` when a job of ``duration`` seconds fits into the
        working day (WORK_DAY, local time): before it opens, at opening; too late to finish, at
        the next day's opening."""
        opening, closing, next_opening, _end = self._working_day(ts)
        if ts < opening:
            return opening
        if ts + duration > closing:
            return next_opening
        return ts

    def _working_day(self, ts):
        """The local day of ``ts`` as timestamps: its opening and closing (WORK_DAY), the next day's
        opening and the day's end. Worked out once per day (the replay asks twice per assignment, and
        the time zone's arithmetic costs more than the rest of a step), found again by bisection."""
        starts, days = self.day_starts, self.days
        i = _bisect(starts, ts) - 1
        if i >= 0 and ts < days[i][3]:
            return days[i]
        local = datetime.fromtimestamp(ts, self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        opening = local.replace(hour=WORK_DAY[0], minute=0, second=0, microsecond=0)
        closing = local.replace(hour=WORK_DAY[1], minute=0, second=0, microsecond=0)
        day = (opening.timestamp(), closing.timestamp(), (opening + timedelta(days=1)).timestamp(),
               (midnight + timedelta(days=1)).timestamp())
        starts.insert(i + 1, midnight.timestamp())
        days.insert(i + 1, day)
        return day
