"""Write the sample import files in docs/samples/ (the same files on every run: a fixed seed).

    .venv/bin/python scripts/make_import_samples.py [--customers 2000] [--out docs/samples]

- customers.csv: customers of a service company in Shanghai, Beijing, Hangzhou and Shenzhen
  (UTF-8 with a byte-order mark, as Excel saves "CSV UTF-8"), Chinese headers; the customers who
  speak English (language ``en``: foreign firms, expatriate households) have English names;
- customers-gbk.csv: the first 200 of them in GBK with English headers (as an older Excel saves);
- sites.csv and equipment.csv: one to three sites per customer, one to three units per site;
- customers-with-errors.csv: 40 rows of which some are wrong (a phone number that does not
  parse, a duplicate code, a formula, a tier that does not exist): the preview lists them and
  nothing is imported;
- technicians.csv, partner-companies.csv, parts.csv: a team of 150 with skills and levels,
  working hours and home addresses (geocoded after the import into the home base dispatch uses;
  a few also give the point itself), partner companies, a parts list;
- technicians-with-errors.csv: 12 technicians of which some are wrong (an unknown skill, a level
  of 7, working hours that cannot be read, a partner company that does not exist, a login taken
  twice, a phone number that does not parse, a latitude out of range): nothing is imported;
- skills.csv, service-types.csv: the skills and the service types that need them (with levels),
  Chinese headers;
- articles.csv: knowledge articles (a public fee schedule, internal how-tos) in both languages,
  naming the sample service types by code.

Import order: customers, sites, equipment (sites and equipment name their customer by code);
skills before service types and technicians; partner companies before technicians.

No Django needed; ``customer_rows`` is also what bench/import_bench.py imports.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from pathlib import Path

CITIES = {
    "上海": ["浦东新区世纪大道", "徐汇区漕溪北路", "静安区南京西路", "闵行区莘庄工业区春东路", "杨浦区国定路"],
    "北京": ["朝阳区建国路", "海淀区中关村大街", "西城区金融大街", "丰台区南四环西路"],
    "杭州": ["西湖区文三路", "滨江区江南大道", "余杭区文一西路"],
    "深圳": ["南山区科技园南路", "福田区深南大道", "宝安区新安街道"],
}
COORDS = {"上海": (31.23, 121.47), "北京": (39.90, 116.40), "杭州": (30.27, 120.15), "深圳": (22.54, 114.06)}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超"]
BUSINESS = ["超市", "口腔诊所", "物业管理有限公司", "酒店", "咖啡馆", "幼儿园", "健身中心", "餐厅", "写字楼", "药房"]
PREFIX = ["华联", "家乐", "明德", "东方", "新世纪", "金桥", "锦江", "海岸", "阳光", "长城", "百盛", "君悦"]
# Customers who speak English: foreign firms and households, named as they name themselves.
EN_PREFIX = ["Harbour View", "Riverside", "Lakeside", "Bund", "Jade Garden", "Pacific", "Summit", "Maple Leaf"]
EN_BUSINESS = ["Dental Clinic", "Bistro", "International School", "Serviced Apartments", "Fitness Club",
               "Trading Co., Ltd.", "Bakery", "Consulting Office"]
EN_PEOPLE = ["Michael Brown", "Sarah Johnson", "David Miller", "Emma Wilson", "James Taylor", "Laura Schmidt",
             "Thomas Müller", "Sophie Martin", "Kenji Watanabe", "Anna Kowalski"]
SITE_NAMES = ["总店", "一号店", "二号店", "仓库", "办公室", "机房", "厨房", "大堂"]
BRANDS = {"Daikin": ["FTXS35", "FTXM50", "RXYQ8"], "Gree": ["KFR-26GW", "KFR-35GW", "GMV-H180"],
          "Midea": ["KFR-72LW", "MDV-D56"], "Haier": ["KFR-50LW", "BCD-470"], "Carrier": ["42QHC018", "30XA"]}
# The skill codes seed_demo creates (demo/management/commands/seed_demo.py).
SKILLS = ["aircon", "refrigeration", "laundry", "plumbing", "electrical", "gas", "kitchen", "installation"]
PARTS = [("FLT", "空调滤网 Air filter", "pcs", 35), ("CAP", "启动电容 Run capacitor", "pcs", 48),
         ("R32", "R32 冷媒 Refrigerant", "kg", 120), ("PIPE", "铜管 Copper pipe", "m", 65),
         ("FAN", "风扇电机 Fan motor", "pcs", 420), ("BRD", "控制主板 Control board", "pcs", 680),
         ("VLV", "膨胀阀 Expansion valve", "pcs", 260), ("TAPE", "保温胶带 Insulation tape", "pcs", 12)]

CUSTOMER_HEAD_ZH = ["客户编号", "名称", "手机号码", "电子邮箱", "客户等级", "语言", "备注"]
CUSTOMER_HEAD_EN = ["customer_code", "name", "phone", "email", "tier", "language", "notes"]


def _phone(rng: random.Random, n: int) -> str:
    prefix = rng.choice(["138", "139", "137", "136", "150", "151", "186", "188"])
    number = f"{prefix}{(n * 7919 + 1234567) % 100000000:08d}"
    style = n % 3
    if style == 0:
        return number
    if style == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return f"+86 {number}"


def customer_rows(count: int, *, seed: int = 15, start: int = 1):
    """``count`` customers as rows of CUSTOMER_HEAD_EN's columns; codes C000001... from ``start``."""
    rng = random.Random(seed)
    for n in range(start, start + count):
        city = rng.choice(list(CITIES))
        if n % 4 == 0:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN)
            email = ""
        else:
            name = f"{city}{rng.choice(PREFIX)}{rng.choice(BUSINESS)}"
            email = f"service{n}@example.cn" if n % 3 else ""
        tier = rng.choices(["standard", "silver", "gold", "vip"], weights=[70, 18, 9, 3])[0]
        language = "en" if n % 15 == 0 else "zh-hans"
        if language == "en":  # an English name, from its own sequence (the others stay as they were)
            english = random.Random(seed * 100003 + n)
            name = english.choice(EN_PEOPLE) if n % 4 == 0 else f"{english.choice(EN_PREFIX)} {english.choice(EN_BUSINESS)}"
        notes = rng.choice(["", "", "", "门卫处登记后进入", "仅工作日上午可上门", "Ask for the facilities manager"])
        if language == "en":
            notes = {"门卫处登记后进入": "Sign in at the gate first", "仅工作日上午可上门": "Weekday mornings only"}.get(
                notes, notes)
        yield [f"C{n:06d}", name, _phone(rng, n), email, tier, language, notes]


def site_rows(customers, *, seed: int = 16):
    rng = random.Random(seed)
    for code, name, *_rest in customers:
        city = rng.choice(list(CITIES))
        lat, lng = COORDS[city]
        for label in rng.sample(SITE_NAMES, rng.choice([1, 1, 2, 3])):
            street = rng.choice(CITIES[city])
            yield [code, label, f"{city}市{street}{rng.randint(1, 999)}号", city,
                   f"{lat + rng.uniform(-0.15, 0.15):.6f}", f"{lng + rng.uniform(-0.15, 0.15):.6f}"]


def equipment_rows(sites, *, seed: int = 17):
    rng = random.Random(seed)
    serial = 0
    for code, label, *_rest in sites:
        for _ in range(rng.choice([1, 1, 2, 3])):
            serial += 1
            brand = rng.choice(list(BRANDS))
            year, month, day = rng.randint(2016, 2025), rng.randint(1, 12), rng.randint(1, 28)
            install = f"{year}-{month:02d}-{day:02d}"
            warranty = f"{year + rng.choice([1, 2, 3, 5])}-{month:02d}-{day:02d}"
            yield [f"SN{brand[:2].upper()}{serial:07d}", code, label if serial % 5 else "", brand,
                   rng.choice(BRANDS[brand]), install, warranty]


def bad_customer_rows():
    rows = [row for row in customer_rows(32, seed=99, start=900001)]
    rows[3][2] = "12345"  # not a phone number
    rows[7][2] = "138-CALL-NOW"  # letters
    rows[11][0] = rows[10][0]  # the same code twice
    rows[15][1] = '=HYPERLINK("http://example.com/x","点此领奖")'  # a formula
    rows[19][4] = "platinum"  # no such tier
    rows[23][1] = ""  # no name
    rows[27][3] = "not-an-email"
    rows[30][2] = rows[29][2]  # the same phone twice
    return rows


WORKING_HOURS = ["mon-fri 09:00-18:00", "mon-fri 09:00-18:00", "mon-sat 08:30-17:30",
                 "周一至周五 09:00-12:00,13:00-18:00", "tue-sat 10:00-19:00", "周三至周日 09:00-18:00"]


TECHNICIAN_HEAD = ["employee_number", "username", "name", "phone", "partner_company", "skills", "working_hours",
                   "home_address", "home_latitude", "home_longitude", "active"]
HOME_STREETS = {
    "上海": ["浦东新区锦绣路", "闵行区七莘路", "宝山区牡丹江路", "松江区人民北路", "普陀区真北路"],
    "北京": ["朝阳区望京西路", "丰台区科学城富丰路", "通州区新华大街", "昌平区回龙观西大街"],
    "杭州": ["拱墅区莫干山路", "萧山区市心中路", "余杭区临平大道"],
    "深圳": ["龙岗区龙城大道", "宝安区西乡大道", "龙华区人民路"],
}


def technician_rows(count: int = 150, *, seed: int = 18):
    """Technicians as HR lists them: a home address (the point is geocoded after the import); one
    in ten also gives the point itself (read off a map)."""
    rng = random.Random(seed)
    partners = ["", "", "", "上海安达制冷工程有限公司", "北京冰峰机电服务有限公司"]
    for n in range(1, count + 1):
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        city = rng.choice(list(CITIES))
        lat, lng = COORDS[city]
        skills = rng.sample(SKILLS, rng.choice([1, 2, 2, 3]))
        skill_text = ";".join(f"{s}:{rng.randint(1, 5)}" for s in skills)
        hours = rng.choice(WORKING_HOURS)
        phone, partner = _phone(rng, 500000 + n), rng.choice(partners)
        point = (f"{lat + rng.uniform(-0.1, 0.1):.6f}", f"{lng + rng.uniform(-0.1, 0.1):.6f}")
        address = f"{city}市{rng.choice(HOME_STREETS[city])}{rng.randint(1, 600)}弄{rng.randint(1, 40)}号"
        yield [f"T{n:04d}", f"tech{n:04d}", name, phone, partner, skill_text, hours,
               address, *(point if n % 10 == 0 else ("", "")), "yes"]


def bad_technician_rows():
    rows = [row for row in technician_rows(12, seed=98)]
    for n, row in enumerate(rows, start=1):
        row[0], row[1] = f"T9{n:03d}", f"newtech{n:03d}"
    rows[1][5] = "aircon:3;welding:2"  # no such skill
    rows[3][5] = "aircon:7"  # levels are 1 to 5
    rows[5][6] = "weekdays 9 to 6"  # working hours that cannot be read
    rows[6][4] = "上海不存在机电有限公司"  # no such partner company
    rows[8][1] = rows[7][1]  # the same login twice
    rows[9][3] = "021-CALL-NOW"  # not a phone number
    rows[10][8], rows[10][9] = "95.000000", "121.400000"  # no latitude is 95
    return rows


def part_rows():
    rng = random.Random(19)
    for prefix, name, unit, price in PARTS:
        for variant in range(1, 13):
            yield [f"P-{prefix}-{variant:03d}", f"{name} #{variant}", unit, f"{price * (1 + variant / 10):.2f}",
                   "yes" if rng.random() > 0.05 else "no"]


SKILL_NAMES = {"aircon": "空调", "refrigeration": "制冷", "laundry": "洗衣机", "plumbing": "水暖",
               "electrical": "电工", "gas": "燃气", "kitchen": "厨电", "installation": "安装"}
SERVICE_TYPES = [
    ("ac-repair", "空调维修", "空调不制冷、漏水、异响、故障码", 90, "80", "no", "aircon:2"),
    ("ac-install", "空调安装", "新机安装或移机，含打孔与抽真空", 180, "150", "yes", "aircon:2;installation:2;electrical:1"),
    ("ac-clean", "空调清洗", "滤网、蒸发器与接水盘深度清洗", 60, "60", "no", "aircon:1"),
    ("chiller-service", "冷水机组保养", "季度保养：检漏、清洗冷凝器、记录运行参数", 240, "600", "yes",
     "refrigeration:4;electrical:2"),
    ("cold-room-repair", "冷库维修", "冷库温度异常、压缩机故障", 180, "300", "no", "refrigeration:3"),
    ("washer-repair", "洗衣机维修", "不排水、不脱水、门锁故障", 75, "60", "no", "laundry:2"),
    ("water-heater-install", "热水器安装", "新机安装，原机拆除", 150, "120", "yes", "plumbing:2;installation:2"),
    ("gas-stove-repair", "燃气灶维修", "打不着火、点火后熄灭", 60, "60", "no", "gas:3"),
]


ARTICLES = [
    ("fee-schedule", "上门服务收费标准", "市区上门检测费与常见项目价格", "收费说明", "public", "收费;上门费",
     "ac-repair;ac-clean;washer-repair",
     "## 上门检测费\n\n- 市区（外环内）：**50 元**\n- 外环外：**80 元**\n\n维修完成后检测费不再收取，"
     "配件按价目表另计。保修期内的非人为故障免收人工费。"),
    ("fee-schedule-en", "Call-out fees and prices", "What a visit costs in the city and beyond", "Fees", "public",
     "fees;call-out", "ac-repair;ac-clean;washer-repair",
     "## Call-out fee\n\n- Inside the outer ring road: **CNY 50**\n- Outside: **CNY 80**\n\nThe fee is waived "
     "when we carry out the repair; parts are charged by the price list. Faults under warranty cost no labour."),
    ("ac-leak-howto", "空调室内机漏水的处理步骤", "排水管、接水盘与安装水平的检查顺序", "作业指导", "technician",
     "漏水;排水", "ac-repair;ac-clean",
     "1. 断电后检查排水管是否弯折、堵塞，必要时用氮气吹通。\n2. 清洗接水盘与蒸发器翅片。\n"
     "3. 用水平尺检查室内机安装水平，排水侧应略低。\n4. 试机 15 分钟确认无滴水，拍照上传。"),
    ("ac-e1-code", "空调显示 E1 故障码", "高压保护：常见原因与检查", "故障代码", "technician", "故障码;E1",
     "ac-repair", "E1 多为**高压保护**：室外机散热不良、冷媒过多或风机故障。先清洗冷凝器，"
     "再测量运行电流与高压压力，对照铭牌数据。"),
    ("washer-drain", "洗衣机不排水（E21）", "排水泵与过滤器的检查", "作业指导", "technician", "排水;E21",
     "washer-repair", "先清理底部过滤器的异物，再检查排水泵是否有异响或卡滞，必要时更换排水泵。"),
    ("chiller-quarterly", "Chiller quarterly maintenance checklist", "What to check and record every quarter",
     "How-to", "technician", "maintenance;chiller", "chiller-service",
     "1. Check refrigerant pressures against the log.\n2. Clean the condenser coils.\n"
     "3. Record supply and return water temperatures.\n4. Tighten electrical terminals; record motor currents."),
]


def article_rows():
    for code, title, summary, category, audience, tags, types, body in ARTICLES:
        yield [code, title, summary, body, category, audience, tags, types, "yes"]


def skill_rows():
    for code in SKILLS:
        yield [code, SKILL_NAMES[code]]


def write_csv(path: Path, head, rows, encoding="utf-8-sig"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "docs" / "samples"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    customers = list(customer_rows(args.customers))
    sites = list(site_rows(customers))
    write_csv(out / "customers.csv", CUSTOMER_HEAD_ZH, customers)
    write_csv(out / "customers-gbk.csv", CUSTOMER_HEAD_EN, customers[:200], encoding="gb18030")
    write_csv(out / "customers-with-errors.csv", CUSTOMER_HEAD_EN, bad_customer_rows())
    write_csv(out / "sites.csv", ["customer_code", "site_name", "address", "city", "latitude", "longitude"], sites)
    write_csv(out / "equipment.csv", ["serial_number", "customer_code", "site_name", "brand", "model",
                                      "install_date", "warranty_end"], equipment_rows(sites))
    write_csv(out / "partner-companies.csv", ["name", "contact_phone", "active"],
              [["上海安达制冷工程有限公司", "021 5888 1234", "yes"], ["北京冰峰机电服务有限公司", "010 6555 8888", "yes"]])
    write_csv(out / "technicians.csv", TECHNICIAN_HEAD, technician_rows())
    write_csv(out / "technicians-with-errors.csv", TECHNICIAN_HEAD, bad_technician_rows())
    write_csv(out / "parts.csv", ["part_number", "name", "unit", "unit_price", "active"], part_rows())
    write_csv(out / "skills.csv", ["编码", "名称"], skill_rows())
    write_csv(out / "service-types.csv", ["编码", "名称", "描述", "默认时长（分钟）", "上门费", "需要服务经理审核",
                                          "技能", "启用"],
              ([*row, "是"] for row in SERVICE_TYPES))
    write_csv(out / "articles.csv", ["code", "title", "summary", "body", "category", "audience", "tags",
                                      "service_types", "published"], article_rows())
    for path in sorted(out.glob("*.csv")):
        print(f"{path.stat().st_size:>9,d}  {path}")


if __name__ == "__main__":
    main()
