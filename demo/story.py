"""What the demo's finished work looks like: the part of ``seed_demo`` that tells the story.

After the work orders and their events are written, this module adds, for the
most recent ``limit`` orders (all of them in an ordinary demo):

- parts with prices, and a checklist per service type (master data, by the ORM);
- knowledge articles in Chinese and in English (a public fee schedule, FAQs, and
  technicians' how-tos per service type), written through ``knowledge.services``
  so that they are versioned and found by search;
- for every ``complete`` event, the completion report it stands for: checklist
  answers, parts used at catalogue prices, labour, the signature, and for some
  the request for a second visit (so first-time fix is below 100 %);
- for every ``follow_up`` event, the survey it sent, answered as the events that
  follow say: a customer's close is a good answer, a manager's close or reopen a
  low answer and the call-back, an automatic close an expired survey, an agent's
  reopen a complaint that voided it;
- escalations where an order passed its SLA thresholds;
- the reports' summary rows, so the dashboard shows the figures at once.

Reports, answers, parts used, attachments, surveys and escalations go through the
command's bulk writer (``COPY``), with their ids chosen here, so a large seed stays
fast. Everything is drawn from one random generator seeded from the command's,
so the same seed gives the same story.
"""

import base64
import io
import random
import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection
from django.db.models import Max

from catalog.models import ChecklistItem, Part, ServiceType
from completion.models import ChecklistAnswer, CompletionReport, PartUsage
from completion.services import drive_minutes, hourly_cost, labour_rate
from core import roles as R
from core.i18n import bilingual, split_bilingual
from customers.models import Customer
from knowledge.models import Article, Audience, Category
from knowledge.services import article_create
from reports.facts import facts_rebuild, facts_refresh
from reports.models import WorkOrderFact
from sla.models import EscalationLevel
from sla.selectors import policy_for
from technicians.models import Technician
from workorders.lifecycle import FINAL_STATES
from workorders.models import Attachment, Escalation, Survey, WorkOrder, WorkOrderEvent

CENT = Decimal("0.01")
SIGNATURE_FILE = "demo/signature.png"

# part number, name, unit, price, service types it is used on
PARTS = [
    ("AC-CAP-35", "空调启动电容 35µF Compressor run capacitor 35 µF", "pcs", "45.00", ["aircon-repair"]),
    ("AC-FAN-MTR", "空调室外风机电机 Outdoor fan motor", "pcs", "268.00", ["aircon-repair"]),
    ("AC-R32-KG", "R32 冷媒 R32 refrigerant", "kg", "120.00", ["aircon-repair", "aircon-install"]),
    ("AC-DRAIN-M", "空调排水管 Condensate drain hose", "m", "8.00", ["aircon-repair", "aircon-install"]),
    ("AC-PCB-IN", "空调室内机主板 Indoor unit control board", "pcs", "420.00", ["aircon-repair"]),
    ("AC-PIPE-M", "铜管（保温） Insulated copper pipe", "m", "65.00", ["aircon-install"]),
    ("AC-BRACKET", "空调外机支架 Outdoor unit bracket", "pcs", "150.00", ["aircon-install"]),
    ("AC-CLEAN-L", "空调清洗剂 Coil cleaning agent", "L", "35.00", ["aircon-clean"]),
    ("AC-FILTER", "空调过滤网 Air filter", "pcs", "28.00", ["aircon-clean", "aircon-repair"]),
    ("WM-PUMP", "洗衣机排水泵 Washer drain pump", "pcs", "135.00", ["washer-repair"]),
    ("WM-BELT", "洗衣机皮带 Washer drive belt", "pcs", "48.00", ["washer-repair"]),
    ("WM-DOORLOCK", "洗衣机门锁 Washer door lock", "pcs", "96.00", ["washer-repair"]),
    ("WM-SHOCK", "洗衣机减震器 Washer shock absorber", "pcs", "58.00", ["washer-repair"]),
    ("WH-VALVE", "热水器安全阀 Water heater safety valve", "pcs", "55.00", ["water-heater-install", "water-heater-repair"]),
    ("WH-HOSE-M", "不锈钢编织软管 Braided steel hose", "m", "18.00", ["water-heater-install", "dishwasher-install"]),
    ("WH-ANODE", "热水器镁棒 Magnesium anode rod", "pcs", "85.00", ["water-heater-repair"]),
    ("WH-IGNITER", "热水器点火针 Water heater igniter", "pcs", "42.00", ["water-heater-repair"]),
    ("WH-THERMO", "温控器 Thermostat", "pcs", "110.00", ["water-heater-repair", "fridge-repair"]),
    ("FR-RELAY", "冰箱启动继电器 Fridge start relay", "pcs", "38.00", ["fridge-repair"]),
    ("FR-SEAL", "冰箱门封条 Fridge door gasket", "pcs", "88.00", ["fridge-repair"]),
    ("FR-R600A", "R600a 冷媒 R600a refrigerant", "kg", "150.00", ["fridge-repair"]),
    ("HD-DEGREASE", "油烟机清洗剂 Degreaser", "L", "30.00", ["range-hood-clean"]),
    ("HD-OILCUP", "油烟机油杯 Range hood oil cup", "pcs", "15.00", ["range-hood-clean"]),
    ("DW-INLET", "洗碗机进水阀 Dishwasher inlet valve", "pcs", "75.00", ["dishwasher-install"]),
    ("DW-KIT", "洗碗机安装配件包 Dishwasher fitting kit", "pcs", "60.00", ["dishwasher-install"]),
    ("GS-THERMO", "燃气灶热电偶 Burner thermocouple", "pcs", "32.00", ["gas-stove-repair"]),
    ("GS-IGNITER", "燃气灶脉冲点火器 Pulse igniter", "pcs", "46.00", ["gas-stove-repair"]),
    ("GS-HOSE", "燃气软管（1.5米） Gas hose 1.5 m", "pcs", "39.00", ["gas-stove-repair", "water-heater-install"]),
]

# Per service type: (text, mandatory)
CHECKLISTS = {
    "aircon-repair": [("确认故障现象 Confirm the fault", True), ("检测冷媒压力 Check refrigerant pressure", True),
                      ("测试制冷 30 分钟 Test cooling for 30 minutes", True), ("清洁现场 Clean up the site", False)],
    "aircon-install": [("确认安装位置与承重 Check the mounting position", True),
                       ("真空抽空 15 分钟 Vacuum the lines for 15 minutes", True),
                       ("检漏 Leak test", True), ("向客户演示使用 Show the customer how to use it", False)],
    "aircon-clean": [("拆洗滤网 Wash the filters", True), ("清洗蒸发器 Clean the evaporator", True),
                     ("试机无异味 Run test, no odour", False)],
    "washer-repair": [("确认故障代码 Read the error code", True), ("排水与脱水测试 Drain and spin test", True),
                      ("检查门锁 Check the door lock", False)],
    "water-heater-install": [("检查电源与接地 Check power and earth", True),
                             ("安装安全阀 Fit the safety valve", True), ("试水无渗漏 Water test, no leaks", True)],
    "water-heater-repair": [("检查燃气/电源 Check gas or power supply", True),
                            ("点火测试 Ignition test", True), ("检查烟道 Check the flue", False)],
    "fridge-repair": [("测量箱内温度 Measure the cabinet temperature", True),
                      ("检查压缩机启动 Check the compressor starts", True), ("检查门封 Check the door seal", False)],
    "range-hood-clean": [("拆洗风轮 Clean the fan wheel", True), ("清洗油网油杯 Clean filters and oil cup", True)],
    "dishwasher-install": [("进排水连接 Connect inlet and drain", True), ("试运行一个程序 Run one cycle", True),
                           ("检查柜体固定 Check the unit is fixed", False)],
    "gas-stove-repair": [("燃气检漏 Gas leak test", True), ("点火测试每个灶眼 Ignition test on every burner", True),
                         ("检查软管有效期 Check the hose date", False)],
}

# How many part lines a report has (weights for 0, 1, 2, 3), by kind of job.
# What a part costs us, as a share of its price (the demo's purchase prices).
PART_COST_SHARE = Decimal("0.55")
PART_LINES = {"repair": [20, 48, 24, 8], "install": [5, 35, 40, 20], "clean": [55, 40, 5, 0]}
# Share of reports that ask for a second visit, by kind of job.
SECOND_VISIT = {"repair": 0.13, "install": 0.06, "clean": 0.02}
SECOND_VISIT_REASONS = [
    "需订购主板，到货后二次上门。The control board has to be ordered; back when it arrives.",
    "压缩机故障，需厂家确认保修。Compressor fault; waiting for the maker to confirm the warranty.",
    "缺少配件，下次带齐。A part was missing; will bring it next time.",
    "需物业开通外墙作业许可。Needs the building's permit for work on the facade.",
    "客户要求更换整机，需重新报价。Customer wants a new unit; a new quote is needed.",
]
PROBLEM_NOTES = ["发现轻微锈蚀，已告知客户。Light rust found; customer told.",
                 "原装管路老化，建议更换。Old piping is worn; replacement advised."]

GOOD_COMMENTS = {
    "zh-hans": ["师傅很专业，准时到达。", "服务态度好，修得很快。", "很满意，下次还找你们。", "收费透明，讲解清楚。",
                "工程师很细心，现场也清理干净了。", "比预约时间晚了一点，但修得不错。"],
    "en": ["Friendly and on time.", "Fixed quickly, thank you.", "Clear explanation of the costs.",
           "The engineer cleaned up after the job.", "A little late, but a good job."],
}
LOW_COMMENTS = {
    "zh-hans": ["问题没有解决，空调还是不制冷。", "等了很久才上门。", "收费比说好的贵。", "师傅态度不好。",
                "修完第二天又坏了。"],
    "en": ["The problem is not fixed.", "Waited far too long for the visit.", "Charged more than quoted.",
           "The engineer was rude.", "It broke again the next day."],
}
CALLBACK_NOTES = {
    "close": ["已致电客户道歉并说明收费，客户接受。Called and apologised; customer accepts the charges.",
              "客户表示问题已解决，只是等待时间长。Customer says it is fixed, only the wait was long."],
    "reopen": ["客户反映问题未解决，重新派单。Customer says it is not fixed; the order is reopened.",
               "安排主管复查。A supervisor will re-check the job."],
}

# The knowledge base: categories, then articles (written through knowledge.services).
CATEGORIES = [("收费与政策 Fees and policies", "fees", 10), ("常见问题 FAQ", "faq", 20),
              ("维修指南 Repair guides", "guides", 30)]


def _kind(code: str) -> str:
    return "install" if code.endswith("install") else "clean" if code.endswith("clean") else "repair"


def _zh(value, field: str = "name") -> str:
    """The Chinese name of a master-data row, or the Chinese half of a demo text
    ("空调维修 Air conditioner repair" -> "空调维修")."""
    if isinstance(value, str):
        return split_bilingual(value)[0] or value
    return getattr(value, f"{field}_zh_hans") or getattr(value, field)


def _en(value, field: str = "name") -> str:
    if isinstance(value, str):
        return split_bilingual(value)[1] or value
    return getattr(value, f"{field}_en") or getattr(value, field)


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


class Story:
    """Called by ``seed_demo`` once its work orders are written (see the module docstring)."""

    def __init__(self, command, *, limit: int):
        self.cmd = command
        self.writer = command.writer
        self.now = command.now
        self.rng = random.Random(command.rng.getrandbits(64))
        self.limit = max(0, limit)
        self.counts = defaultdict(int)

    def tell(self) -> dict:
        self.manager = self.cmd.users["manager"]
        self.office = {name: self.cmd.users[name].pk for name in ("agent", "dispatcher", "manager")}
        self.service_types = {st.pk: st for st in ServiceType.objects.all()}
        self._parts()
        self._checklists()
        self._knowledge()
        low = self._lowest_order()
        if low is not None:
            self._reports_and_surveys(low)
        self._reset_sequences()
        self._analyze()
        self._facts(low)
        if low is not None:
            self._escalations(low)
        return dict(self.counts)

    # ------------------------------------------------------------ master data

    def _parts(self):
        self.parts = {}
        for number, name, unit, price, codes in PARTS:
            part, _ = Part.objects.update_or_create(
                part_number=number,
                defaults={**bilingual("name", name), "unit": unit, "unit_price": Decimal(price), "active": True,
                          "unit_cost": _money(Decimal(price) * PART_COST_SHARE)},
            )
            self.parts[number] = part
        self.parts_for = defaultdict(list)
        by_code = {st.code: st.pk for st in self.service_types.values()}
        for number, _name, _unit, _price, codes in PARTS:
            for code in codes:
                if code in by_code:
                    self.parts_for[by_code[code]].append(self.parts[number])
        self.counts["parts"] = len(self.parts)

    def _checklists(self):
        self.checklist = {}
        for st in self.service_types.values():
            items = []
            for position, (text, mandatory) in enumerate(CHECKLISTS.get(st.code, [])):
                item, _ = ChecklistItem.objects.get_or_create(
                    service_type=st, text_zh_hans=split_bilingual(text)[0],
                    defaults={**bilingual("text", text), "mandatory": mandatory, "position": position},
                )
                items.append(item)
            self.checklist[st.pk] = [i for i in items if i.active]

    def _knowledge(self):
        """Articles in both languages, published through the knowledge services (version, HTML, search)."""
        categories = {}
        for name, slug, position in CATEGORIES:
            categories[slug], _ = Category.objects.get_or_create(slug=slug, defaults={**bilingual("name", name),
                                                                                       "position": position})
        existing = set(Article.objects.values_list("title", flat=True))
        made = []
        for spec in self._articles(categories):
            if spec["title"] in existing:
                continue
            made.append(article_create(actor=self.manager, published=True, note="demo", **spec))
        # Written over the past year, as a real knowledge base grows.
        for article in made:
            written = self.now - timedelta(days=self.rng.randint(20, 360), minutes=self.rng.randint(0, 600))
            Article.objects.filter(pk=article.pk).update(created_at=written, updated_at=written)
            article.versions.update(changed_at=written)
        self.counts["articles"] = Article.objects.filter(published=True).count()

    def _articles(self, categories):
        rate = labour_rate()
        types = sorted(self.service_types.values(), key=lambda st: st.code)
        zh_rows = "\n".join(f"| {_zh(st)} | {st.callout_fee} 元 | 约 {st.default_duration_minutes} 分钟 |"
                            for st in types)
        en_rows = "\n".join(f"| {_en(st)} | CNY {st.callout_fee} | about {st.default_duration_minutes} min |"
                            for st in types)
        zh_parts = "\n".join(f"| {p.part_number} | {_zh(p)} | {p.unit_price} 元/{p.unit} |"
                             for p in self.parts.values())
        en_parts = "\n".join(f"| {p.part_number} | {_en(p)} | CNY {p.unit_price} per {p.unit} |"
                             for p in self.parts.values())
        yield {
            "title": "服务收费标准", "summary": "上门费、人工费与常用配件价格，完工后按实际用料结算。",
            "audience": Audience.PUBLIC, "category": categories["fees"], "tags": ["收费", "价格"],
            "body": (f"## 上门费\n\n| 服务 | 上门费 | 标准工时 |\n|---|---|---|\n{zh_rows}\n\n"
                     f"## 人工费\n\n每小时 {rate} 元，按实际工时计算。\n\n"
                     f"## 常用配件\n\n| 编号 | 名称 | 单价 |\n|---|---|---|\n{zh_parts}\n\n"
                     "完工报告列明上门费、人工费与配件费用，客户签字确认后结算。"),
        }
        yield {
            "title": "Fee schedule", "summary": "Call-out fees, labour and common part prices; you pay for what is used.",
            "audience": Audience.PUBLIC, "category": categories["fees"], "tags": ["fees", "prices"],
            "body": (f"## Call-out fee\n\n| Service | Call-out fee | Usual time |\n|---|---|---|\n{en_rows}\n\n"
                     f"## Labour\n\nCNY {rate} per hour, charged for the time actually worked.\n\n"
                     f"## Common parts\n\n| Number | Part | Price |\n|---|---|---|\n{en_parts}\n\n"
                     "The completion report lists the call-out fee, labour and parts; you sign it before paying."),
        }
        yield {
            "title": "保修期内维修收费吗？", "summary": "保修期内的故障免上门费与配件费。",
            "audience": Audience.PUBLIC, "category": categories["faq"], "tags": ["保修", "收费"],
            "body": "设备在保修期内且非人为损坏的，免收上门费和配件费。请在报修时提供设备序列号和购买凭证。",
        }
        yield {
            "title": "Are repairs under warranty free?", "summary": "No call-out or parts charge under warranty.",
            "audience": Audience.PUBLIC, "category": categories["faq"], "tags": ["warranty", "fees"],
            "body": ("If the appliance is under warranty and the fault is not caused by misuse, the call-out fee and "
                     "the parts are free. Please give the serial number and proof of purchase when you book."),
        }
        yield {
            "title": "如何改约或取消上门？", "summary": "上门前 2 小时可免费改约或取消。",
            "audience": Audience.PUBLIC, "category": categories["faq"], "tags": ["预约"],
            "body": "通过工单链接或致电客服即可改约。上门前 2 小时以上取消不收费；工程师已出发后取消收取上门费。",
        }
        yield {
            "title": "How do I change or cancel a visit?", "summary": "Free up to 2 hours before the visit.",
            "audience": Audience.PUBLIC, "category": categories["faq"], "tags": ["appointments"],
            "body": ("Use the link of your request or call us. Cancelling more than 2 hours ahead is free; once the "
                     "engineer has set off, the call-out fee is charged."),
        }
        for st in types:
            steps = CHECKLISTS.get(st.code, [])
            parts = self.parts_for.get(st.pk, [])
            zh_steps = "\n".join(f"{i}. {_zh(text)}" for i, (text, _m) in enumerate(steps, 1))
            en_steps = "\n".join(f"{i}. {_en(text)}" for i, (text, _m) in enumerate(steps, 1))
            zh_parts = "、".join(_zh(p) for p in parts) or "无"
            en_parts = ", ".join(_en(p) for p in parts) or "none"
            yield {
                "title": f"{_zh(st)}作业指导", "summary": f"{_zh(st)}的标准步骤、常用配件与注意事项。",
                "audience": Audience.TECHNICIAN, "category": categories["guides"], "tags": ["作业指导"],
                "service_types": [st],
                "body": (f"## 步骤\n\n{zh_steps}\n\n## 常用配件\n\n{zh_parts}\n\n"
                         f"## 注意\n\n标准工时约 {st.default_duration_minutes} 分钟。无法一次修好时，"
                         "在完工报告中勾选“需要二次上门”并写明原因。"),
            }
            yield {
                "title": f"How to: {_en(st).lower()}",
                "summary": f"Steps, usual parts and tips for {_en(st).lower()}.",
                "audience": Audience.TECHNICIAN, "category": categories["guides"], "tags": ["how-to"],
                "service_types": [st],
                "body": (f"## Steps\n\n{en_steps}\n\n## Usual parts\n\n{en_parts}\n\n"
                         f"## Notes\n\nAllow about {st.default_duration_minutes} minutes. If it cannot be fixed in "
                         "one visit, tick \"needs a second visit\" on the completion report and say why."),
            }

    # ------------------------------------------------- reports and surveys

    def _lowest_order(self):
        """The first id of the most recent ``limit`` orders, or None."""
        if not self.limit:
            return None
        ids = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True)[self.limit - 1:self.limit]
        first = list(ids)
        if first:
            return first[0]
        return WorkOrder.objects.order_by("pk").values_list("pk", flat=True).first()

    def _reports_and_surveys(self, low):
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, service_type_id, status, contact_name, language FROM {q(WorkOrder._meta.db_table)} "
                "WHERE id >= %s", [low])
            orders = {row[0]: row[1:] for row in cursor.fetchall()}
            cursor.execute(
                f"SELECT work_order_id, action, created_at, actor_id, actor_role, latitude, longitude, note "
                f"FROM {q(WorkOrderEvent._meta.db_table)} WHERE work_order_id >= %s "
                "AND action IN ('complete', 'follow_up', 'close', 'reopen') ORDER BY work_order_id, id", [low])
            events = cursor.fetchall()
        self.tech_of_user = dict(Technician.objects.values_list("user_id", "pk"))
        self._signature_file()
        ids = {m: (m.objects.aggregate(m=Max("pk"))["m"] or 0) + 1 for m in (CompletionReport, Attachment)}
        self.ids = ids
        self.rows = defaultdict(list)
        by_order = defaultdict(list)
        for row in events:
            by_order[row[0]].append(row[1:])
        for wid in sorted(by_order):
            self._order(wid, orders[wid], by_order[wid])
            if len(self.rows[CompletionReport]) >= self.cmd.batch_size:
                self._flush()
        self._flush()

    def _flush(self):
        rows = self.rows
        self.writer.submit([
            (Attachment, ["id", "work_order", "kind", "file", "content_type", "size", "width", "height",
                          "original_name", "created_at"], rows[Attachment]),
            (CompletionReport, [
                "id", "work_order", "technician", "submitted_by", "submission_key", "work_done", "labour_minutes",
                "labour_rate", "callout_fee", "labour_amount", "parts_amount", "total_amount",
                "parts_cost", "labour_cost", "travel_minutes", "travel_cost", "signer_name",
                "signature", "signed_at", "latitude", "longitude", "needs_second_visit", "second_visit_reason",
                "review_status", "review_comment", "reviewed_by", "reviewed_at", "revision_note", "created_at",
            ], rows[CompletionReport]),
            (ChecklistAnswer, ["report", "item", "item_text", "mandatory", "answer", "note"], rows[ChecklistAnswer]),
            (PartUsage, ["report", "part", "part_number", "name", "unit", "quantity", "unit_price", "amount",
                         "unit_cost"],
             rows[PartUsage]),
            (Survey, ["work_order", "token", "language", "status", "created_at", "expires_at", "reminder_sent_at",
                      "answered_at", "satisfaction", "solved", "recommend", "comment", "needs_callback",
                      "callback_at", "callback_by", "callback_note", "callback_outcome"], rows[Survey]),
        ])
        for model, name in ((CompletionReport, "completion_reports"), (PartUsage, "parts_used"),
                            (ChecklistAnswer, "checklist_answers"), (Survey, "surveys")):
            self.counts[name] += len(rows[model])
        rows.clear()

    def _signature_file(self):
        """One small signature image, shared by the demo's reports (their pages show it)."""
        if default_storage.exists(SIGNATURE_FILE):
            self.signature_size = default_storage.size(SIGNATURE_FILE)
            return
        from PIL import Image, ImageDraw

        image = Image.new("RGB", (300, 100), "white")
        draw = ImageDraw.Draw(image)
        draw.line([(20, 70), (60, 30), (90, 75), (130, 35), (170, 70), (220, 40), (280, 60)], fill="navy", width=3)
        buf = io.BytesIO()
        image.save(buf, "PNG")
        default_storage.save(SIGNATURE_FILE, ContentFile(buf.getvalue()))
        self.signature_size = len(buf.getvalue())

    def _order(self, wid, order, events):
        """One order's reports and surveys, from its complete / follow_up / close / reopen events."""
        service_type_id, status, contact_name, language = order
        language = "en" if language.startswith("en") else "zh-hans"
        st = self.service_types[service_type_id]
        reopened_later = [i for i, e in enumerate(events) if e[0] == "reopen"]
        for i, (action, at, actor_id, role, lat, lng, note) in enumerate(events):
            after = events[i + 1:]
            if action == "complete":
                reopened = any(j > i for j in reopened_later)
                follow_up_at = next((e[1] for e in after if e[0] == "follow_up"), None)
                self._report(wid, st, at, actor_id, lat, lng, note, contact_name, reopened, follow_up_at,
                             drive_minutes(events[:i]))
            elif action == "follow_up":
                nxt = after[0] if after else None
                self._survey(wid, language, at, nxt, status)

    def _report(self, wid, st, at, actor_id, lat, lng, note, signer, reopened, follow_up_at, travel_minutes):
        rng = self.rng
        kind = _kind(st.code)
        technician = self.tech_of_user.get(actor_id)
        if technician is None:
            return
        rid, aid = self.ids[CompletionReport], self.ids[Attachment]
        self.ids[CompletionReport] += 1
        self.ids[Attachment] += 1
        self.rows[Attachment].append((aid, wid, Attachment.Kind.SIGNATURE, SIGNATURE_FILE, "image/png",
                                      self.signature_size, 300, 100, "signature.png", at))
        for item in self.checklist.get(st.pk, []):
            r = rng.random()
            if item.mandatory:
                answer, text = ("problem", rng.choice(PROBLEM_NOTES)) if r < 0.05 else ("done", "")
            else:
                answer, text = ("na", "") if r < 0.3 else ("done", "")
            self.rows[ChecklistAnswer].append((rid, item.pk, item.text, item.mandatory, answer, text))
        parts_amount = parts_cost = Decimal("0.00")
        candidates = self.parts_for.get(st.pk, [])
        lines = rng.choices(range(4), PART_LINES[kind])[0] if candidates else 0
        for part in rng.sample(candidates, min(lines, len(candidates))):
            if part.unit in ("m",):
                quantity = Decimal(rng.choice(("1.50", "2.00", "3.00", "4.50", "6.00")))
            elif part.unit in ("kg", "L"):
                quantity = Decimal(rng.choice(("0.50", "0.80", "1.00", "1.50")))
            else:
                quantity = Decimal(rng.choice(("1.00", "1.00", "1.00", "2.00")))
            amount = _money(part.unit_price * quantity)
            parts_amount += amount
            parts_cost += _money(part.unit_cost * quantity)
            self.rows[PartUsage].append((rid, part.pk, part.part_number, part.name, part.unit, quantity,
                                         part.unit_price, amount, part.unit_cost))
        minutes = max(15, int(st.default_duration_minutes * rng.uniform(0.6, 1.4)) // 5 * 5)
        rate = labour_rate()
        callout = _money(st.callout_fee)
        labour = _money(rate * minutes / 60)
        cost_rate = hourly_cost(None)  # the company's standard cost per hour
        second = not reopened and rng.random() < SECOND_VISIT[kind]
        review = ("pending", None, None)
        if st.requires_review and follow_up_at is not None:
            review = ("approved", self.office["manager"], follow_up_at)
        self.rows[CompletionReport].append((
            rid, wid, technician, actor_id, uuid.UUID(int=rng.getrandbits(128), version=4),
            note or "已完成。Done.", minutes, rate, callout, labour, parts_amount, callout + labour + parts_amount,
            parts_cost, _money(cost_rate * minutes / 60), travel_minutes, _money(cost_rate * travel_minutes / 60),
            signer, aid, at, lat, lng, second, rng.choice(SECOND_VISIT_REASONS) if second else "",
            review[0], "", review[1], review[2], "", at,
        ))
        self.counts["second_visits"] += second

    def _token(self) -> str:
        return base64.urlsafe_b64encode(self.rng.getrandbits(192).to_bytes(24, "big")).decode()

    def _survey(self, wid, language, sent, nxt, status):
        """The survey a follow-up sent, answered as the order's next event says."""
        rng = self.rng
        valid = timedelta(days=settings.SURVEY_VALID_DAYS)
        expires = sent + valid
        # (status, answered_at, low answer?, call-back at, call-back outcome, reminder)
        reminder = None
        if nxt is None:  # still waiting in follow-up
            if self.now - sent > timedelta(days=2) and rng.random() < 0.35:
                state, answered, low, callback, outcome = "answered", sent + (self.now - sent) * rng.random(), True, \
                    None, ""
            else:
                state, answered, low, callback, outcome = "open", None, False, None, ""
                if self.now - sent > timedelta(hours=settings.SURVEY_REMINDER_HOURS):
                    reminder = sent + timedelta(hours=settings.SURVEY_REMINDER_HOURS)
        else:
            action, at, _actor, role = nxt[0], nxt[1], nxt[2], nxt[3]
            if action == "close" and role == R.CUSTOMER:
                state, answered, low, callback, outcome = "answered", at, False, None, ""
            elif action == "close" and role == R.SYSTEM:
                state, answered, low, callback, outcome = "expired", None, False, None, ""
                expires = at
            elif role == R.MANAGER:  # a low answer, then the manager's call-back closed or reopened it
                state, answered, low = "answered", sent + (at - sent) * rng.uniform(0.1, 0.6), True
                callback, outcome = at, action
            else:  # the customer called the agent to complain before answering: reopened, link voided
                state, answered, low, callback, outcome = "void", None, False, None, ""
        satisfaction = solved = recommend = None
        comment = ""
        if state == "answered":
            if low:
                satisfaction = rng.choices((1, 2, 3), (35, 50, 15))[0]
                solved = satisfaction == 2 and rng.random() < 0.4
                solved = False if satisfaction == 3 else solved
                recommend = rng.randint(0, 5)
                comment = rng.choice(LOW_COMMENTS[language]) if rng.random() < 0.9 else ""
            else:
                satisfaction = rng.choices((5, 4, 3), (60, 31, 9))[0]
                solved = True
                recommend = {5: rng.randint(9, 10), 4: rng.randint(7, 9), 3: rng.randint(5, 8)}[satisfaction]
                comment = rng.choice(GOOD_COMMENTS[language]) if rng.random() < 0.35 else ""
                if rng.random() < 0.25:
                    recommend = None  # the optional question left out
        self.rows[Survey].append((
            wid, self._token(), language, state, sent, expires, reminder, answered, satisfaction, solved, recommend,
            comment, low, callback, self.office["manager"] if callback else None,
            rng.choice(CALLBACK_NOTES[outcome]) if callback else "", outcome,
        ))
        self.counts["callbacks"] += callback is not None
        self.counts["complaints"] += low or state == "void"

    def _reset_sequences(self):
        models = [CompletionReport, Attachment, ChecklistAnswer, PartUsage, Survey, Escalation]
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    def _analyze(self):
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            for model in (CompletionReport, Attachment, ChecklistAnswer, PartUsage, Survey):
                cursor.execute(f"{command} {connection.ops.quote_name(model._meta.db_table)}")

    # ----------------------------------------------------- reports and SLA

    def _facts(self, low):
        """The dashboard's per-order rows: all of them, or (a bounded story) the recent ones; the
        periodic sweep (or ``manage.py reports_refresh --all``) builds the older ones."""
        if low is None:
            return  # no story asked for (--story-orders 0): ``manage.py reports_refresh --all`` builds them
        if low <= (WorkOrder.objects.order_by("pk").values_list("pk", flat=True).first() or 0):
            self.counts["facts"] = facts_rebuild()
        else:
            ids = WorkOrder.objects.filter(pk__gte=low).values_list("pk", flat=True)
            self.counts["facts"] = facts_refresh(work_order_ids=list(ids))
        # The dashboard's plans need the rows' statistics (and index-only scans, pages marked
        # all-visible) before autovacuum gets to them, if it runs at all.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cursor:
            cursor.execute(f"{command} {connection.ops.quote_name(WorkOrderFact._meta.db_table)}")

    def _escalations(self, low):
        """The escalation levels an order passed, from its SLA deadlines in the summary rows.

        A level at p % fires when the milestone is still not reached at p % of the time
        from creation to the deadline; on finished orders it was acknowledged.
        """
        rng = self.rng
        levels_of = defaultdict(list)  # matrix id -> its levels
        for level in EscalationLevel.objects.order_by("percent", "pk"):
            levels_of[level.matrix_id].append(level)
        matrix_of = {}  # (priority, tier, service type) -> matrix id of the policy that applies
        rows = []
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT f.work_order_id, f.status, f.created_at, f.first_response_due, f.first_response_at, "
                f"f.arrival_due, f.arrived_at, f.resolution_due, f.resolved_at, wo.priority, c.tier, wo.service_type_id "
                f"FROM {q(WorkOrderFact._meta.db_table)} f "
                f"JOIN {q(WorkOrder._meta.db_table)} wo ON wo.id = f.work_order_id "
                f"JOIN {q(Customer._meta.db_table)} c ON c.id = wo.customer_id "
                "WHERE f.work_order_id >= %s ORDER BY f.work_order_id", [low])
            facts = cursor.fetchall()
        for wid, status, created, *pairs, priority, tier, service_type_id in facts:
            key = (priority, tier, service_type_id)
            if key not in matrix_of:
                policy = policy_for(priority=priority, customer_tier=tier, service_type_id=service_type_id)
                matrix_of[key] = policy.escalation_matrix_id if policy is not None else None
            levels = levels_of.get(matrix_of[key], [])
            for target, (due, at) in zip(("first_response", "arrival", "resolution"), zip(pairs[::2], pairs[1::2])):
                if due is None:
                    continue
                reached = at or self.now
                for level in levels:
                    if level.target and level.target != target:
                        continue
                    fired = created + (due - created) * level.percent / 100
                    if fired >= reached or fired >= self.now:
                        continue
                    acknowledged = by = None
                    if status in FINAL_STATES or self.now - fired > timedelta(days=2):
                        acknowledged = min(self.now, fired + timedelta(minutes=rng.randint(5, 240)))
                        by = self.office["manager" if "manager" in level.notify_roles else "dispatcher"]
                    rows.append((wid, 1, target, level.pk, level.percent, due, fired, acknowledged, by))
        if rows:
            self.writer.submit([(Escalation, ["work_order", "cycle", "target", "level", "percent", "due_at",
                                              "fired_at", "acknowledged_at", "acknowledged_by"], rows)])
        self.counts["escalations"] = len(rows)
