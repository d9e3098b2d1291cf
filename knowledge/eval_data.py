"""The labelled set for comparing search approaches (``manage.py kb_search_eval``).

ARTICLES is a small knowledge base of the kind a field-service company keeps:
fees, warranty, preparing for a visit, and troubleshooting for air conditioners,
washing machines, water heaters and fridges, in Chinese and English, with a
few staff and technician articles. Several articles sit close to each other on
purpose (four air-conditioner problems, three fridge problems ...), so that
ranking matters.

QUERIES are what a customer, agent or technician would type, in their own
words rather than the article's title, each with the one article that answers
it. The queries were written before any approach was tried and are not tuned
to one.
"""

ARTICLES = [
    # -- fees, warranty, visits (public, Chinese) -------------------------------------
    {
        "key": "fee-schedule",
        "title": "收费标准：上门费、维修费与配件费",
        "summary": "上门检测费、人工维修费和配件费分别怎么收。",
        "category": "费用与保修",
        "tags": ["收费", "价格"],
        "body": (
            "工程师上门后先检测，再报价，您同意后才开始维修。\n\n"
            "* **上门检测费**：市区 50 元，郊区 80 元；维修完成后不再另收上门费。\n"
            "* **人工费**：按故障难度分为小修、中修、大修三档，报价单上写明。\n"
            "* **配件费**：按公司统一价格表收取，旧配件可交还给您。\n\n"
            "保修期内且属于质量问题的，上门费、人工费和配件费全部免收。"
        ),
    },
    {
        "key": "warranty-policy",
        "title": "保修政策：哪些情况免费维修",
        "summary": "整机一年、主要部件三年保修，以及不在保修范围内的情况。",
        "category": "费用与保修",
        "tags": ["保修", "质保", "免费维修"],
        "body": (
            "自购买之日起，整机保修一年，压缩机、电机等主要部件保修三年。\n\n"
            "以下情况不属于免费保修：人为损坏、进水或摔坏；自行拆修或非授权网点维修过；"
            "使用环境不符合说明书要求；消耗品（滤网、电池、灯泡）。\n\n"
            "超出保修期的维修按收费标准收费，换上的配件另享 90 天保修。"
        ),
    },
    {
        "key": "warranty-check",
        "title": "如何查询设备是否还在保修期内",
        "summary": "用机身条码或购买凭证查询保修状态。",
        "category": "费用与保修",
        "tags": ["保修", "查询"],
        "body": (
            "保修期从购买日期开始计算，请准备好购买发票或电子订单截图。\n\n"
            "机身条码一般贴在机器侧面或背面，拍照发给客服即可查询。"
            "没有购买凭证的，按出厂日期加三个月计算保修起始日。"
        ),
    },
    {
        "key": "visit-prep",
        "title": "工程师上门前您需要准备什么",
        "summary": "为了一次修好，请在预约时间前做好这些准备。",
        "category": "上门服务",
        "tags": ["上门", "准备", "预约"],
        "body": (
            "1. 确认家里有人在，成年人在场签字确认。\n"
            "2. 清理机器周围的杂物，留出一米左右的操作空间；空调外机要能安全够到。\n"
            "3. 准备好购买发票或保修卡，方便判断是否免费。\n"
            "4. 记下故障现象和屏幕上显示的代码，能拍视频更好。\n"
            "5. 家里有宠物请提前安置好。\n\n"
            "工程师出发时您会收到短信通知。"
        ),
    },
    {
        "key": "reschedule",
        "title": "如何改约或取消上门预约",
        "summary": "通过跟踪链接或客服电话更改时间。",
        "category": "上门服务",
        "tags": ["预约", "改约", "取消"],
        "body": (
            "如果预约的时间段不方便，请至少提前两小时通过短信里的跟踪链接或拨打客服电话更改。\n\n"
            "工程师已经出发后取消的，可能收取上门费。不需要维修了，也请告诉我们取消工单。"
        ),
    },
    {
        "key": "track-order",
        "title": "如何查看维修工单的进度",
        "summary": "用短信里的跟踪链接随时查看状态。",
        "category": "上门服务",
        "tags": ["工单", "进度", "跟踪"],
        "body": (
            "提交报修后，您会收到一条带跟踪链接的短信。打开链接可以看到工单当前状态："
            "待受理、已派单、工程师已出发、服务中、已解决。\n\n"
            "链接里还能看到工程师的姓名和预计到达时间，维修完成后可以下载服务报告。"
        ),
    },
    {
        "key": "invoice",
        "title": "如何开具发票",
        "summary": "维修完成后申请电子发票。",
        "category": "费用与保修",
        "tags": ["发票", "报销"],
        "body": (
            "维修付费后，可以在跟踪链接页面填写抬头和税号申请电子发票，三个工作日内发送到您的邮箱。\n\n"
            "需要增值税专用发票的，请联系客服提供开票资料。免费保修维修不开具发票。"
        ),
    },
    {
        "key": "payment",
        "title": "支持哪些付款方式",
        "summary": "微信、支付宝、银行卡和企业对公转账。",
        "category": "费用与保修",
        "tags": ["付款", "支付"],
        "body": (
            "维修完成并经您确认后付款。支持微信支付、支付宝、银行卡刷卡；企业客户可以月结对公转账。\n\n"
            "工程师不收现金以外的任何私人转账，请认准公司收款码。"
        ),
    },
    {
        "key": "install-ac",
        "title": "空调新装、移机与拆机收费说明",
        "summary": "安装费、移机费和加长铜管的价格。",
        "category": "费用与保修",
        "tags": ["安装", "移机", "空调"],
        "body": (
            "新购空调的标准安装免费，包含三米以内铜管。超出部分按米收费，挂机每米 60 元，柜机每米 80 元。\n\n"
            "移机（拆下再装到新位置）挂机 300 元、柜机 450 元，需要加氟的另计。只拆机不安装收 150 元。\n\n"
            "高空作业需要吊绳或脚手架的，费用现场报价。"
        ),
    },
    # -- air conditioners (public, Chinese) ---------------------------------------------
    {
        "key": "ac-not-cooling",
        "title": "空调不制冷或制冷效果差",
        "summary": "开了很久屋里还是热，先检查这几项。",
        "category": "空调",
        "tags": ["空调", "制冷"],
        "body": (
            "如果空调开了半小时以上，出风还是不凉、屋里降不下温：\n\n"
            "* 确认遥控器是制冷模式（雪花图标），设定温度低于室温。\n"
            "* 滤网太脏会挡住风量，请取下清洗。\n"
            "* 看看外机是否在转，外机周围有没有被杂物遮挡，散热不好会影响制冷。\n"
            "* 门窗是否关好，房间面积是否超过空调匹数。\n\n"
            "以上都正常仍然不凉，可能是缺冷媒或压缩机问题，需要工程师上门检测。"
        ),
    },
    {
        "key": "ac-leaking",
        "title": "空调室内机漏水、滴水怎么办",
        "summary": "室内机往下滴水多半是排水管的问题。",
        "category": "空调",
        "tags": ["空调", "漏水"],
        "body": (
            "制冷时会产生冷凝水，正常情况下从排水管流到室外。室内机滴水常见原因：\n\n"
            "* 排水管堵塞、弯折或被压扁；\n"
            "* 室内机安装不水平，水从一侧溢出；\n"
            "* 滤网太脏导致蒸发器结冰，化冰时大量滴水。\n\n"
            "请先关机并擦干，检查排水管出口是否有水流出。仍然漏水请报修。"
        ),
    },
    {
        "key": "ac-noise",
        "title": "空调运行时噪音大、有异响",
        "summary": "咔咔声、嗡嗡声、振动声分别是什么原因。",
        "category": "空调",
        "tags": ["空调", "异响", "噪音"],
        "body": (
            "刚开机或关机时的轻微“咔咔”声是塑料热胀冷缩，属于正常。\n\n"
            "外机声音很大、机身振动，多半是支架螺丝松动或外机减震垫老化；"
            "室内机有摩擦声可能是风扇叶碰到异物。持续的嗡嗡声或金属撞击声请停机报修。"
        ),
    },
    {
        "key": "ac-clean-filter",
        "title": "如何清洗空调滤网",
        "summary": "两周一次，自己在家就能做。",
        "category": "空调",
        "tags": ["空调", "清洗", "滤网", "保养"],
        "body": (
            "1. 关机并拔掉电源。\n"
            "2. 掀开室内机面板，捏住滤网下方往外抽出。\n"
            "3. 用清水冲洗或软毛刷刷掉灰尘，油污重的可以用中性洗涤剂。\n"
            "4. 放在阴凉处晾干，不要暴晒或用吹风机吹。\n"
            "5. 装回滤网，盖好面板。\n\n"
            "使用季节建议两周清洗一次。"
        ),
    },
    {
        "key": "ac-smell",
        "title": "空调吹出的风有异味",
        "summary": "霉味、烟味、焦味的原因和处理办法。",
        "category": "空调",
        "tags": ["空调", "异味", "清洗"],
        "body": (
            "长期不清洁，蒸发器和接水盘会滋生霉菌，吹出的风带有霉味或酸味。"
            "可以先清洗滤网并开启自清洁功能；味道仍然明显，建议预约深度清洗服务。\n\n"
            "如果闻到焦味或塑料烧糊的味道，请立即断电并报修，不要继续使用。"
        ),
    },
    {
        "key": "ac-remote",
        "title": "空调遥控器失灵，按键没反应",
        "summary": "先换电池，再检查接收窗。",
        "category": "空调",
        "tags": ["空调", "遥控器"],
        "body": (
            "遥控器屏幕不亮或按键没有反应，先更换两节新的 7 号电池。\n\n"
            "屏幕正常但空调不响应：对准室内机右下角的接收窗再试，避免阳光直射接收窗；"
            "用手机摄像头对着遥控器发射头按键，看不到闪光说明遥控器坏了，可以购买原装遥控器。"
        ),
    },
    {
        "key": "ac-error-codes",
        "title": "空调显示故障代码的含义（E1、E4、F0 等）",
        "summary": "常见故障代码对照表，以及哪些可以自己处理。",
        "category": "空调",
        "tags": ["空调", "故障码"],
        "body": (
            "| 代码 | 含义 | 建议 |\n|---|---|---|\n"
            "| E1 | 室内外机通讯故障 | 断电五分钟后重新开机，仍出现请报修 |\n"
            "| E4 | 排气温度过高 | 检查外机是否被遮挡 |\n"
            "| F0 | 冷媒不足 | 需要工程师检漏加注 |\n"
            "| E5 | 电压异常 | 检查电源电压 |\n\n"
            "报修时请告诉客服屏幕上显示的代码。"
        ),
    },
    {
        "key": "ac-heating",
        "title": "冬天空调制热慢、吹冷风",
        "summary": "制热时先吹冷风、中途停风通常是正常的除霜。",
        "category": "空调",
        "tags": ["空调", "制热", "除霜"],
        "body": (
            "制热刚开机时，为了防止吹出冷风，室内机会等几分钟才开始送风。\n\n"
            "气温低时外机会结霜，空调每隔一段时间自动除霜，这时室内机停止送风、外机冒白气，"
            "十分钟内恢复属于正常。长时间只吹凉风，请检查是否选错了模式，或报修检测。"
        ),
    },
    {
        "key": "ac-season-care",
        "title": "换季时空调的保养建议",
        "summary": "夏天开机前和冬天收机后各要做什么。",
        "category": "空调",
        "tags": ["空调", "保养"],
        "body": (
            "长时间不用之前：选送风模式运行两小时吹干内部，清洗滤网，拔掉电源，给外机盖上防尘罩。\n\n"
            "重新使用之前：取下外机罩子，检查排水管是否通畅，先试运行十五分钟。"
            "使用三年以上的空调，建议每年做一次专业清洗。"
        ),
    },
    # -- washing machines (public, Chinese) -------------------------------------------------
    {
        "key": "wm-not-draining",
        "title": "洗衣机不排水或排水很慢",
        "summary": "排水泵过滤器堵了最常见，可以自己清理。",
        "category": "洗衣机",
        "tags": ["洗衣机", "排水"],
        "body": (
            "洗完后桶里还有水、排水很慢，大多是排水泵过滤器被硬币、纽扣或毛絮堵住。\n\n"
            "滚筒洗衣机的过滤器在机器前面右下角的小盖板里：先放一个盆接水，拧开应急排水管放水，"
            "再逆时针拧下过滤器清理。波轮洗衣机请检查排水管有没有被压住或抬得太高。"
        ),
    },
    {
        "key": "wm-shaking",
        "title": "洗衣机脱水时剧烈晃动、声音大",
        "summary": "甩干时跳动、移位，先看衣物和地面。",
        "category": "洗衣机",
        "tags": ["洗衣机", "脱水", "震动"],
        "body": (
            "脱水（甩干）时机器晃动、跳动甚至移位，常见原因：\n\n"
            "* 衣物缠在一起偏到一边，请打开门把衣物抖散重新放匀；\n"
            "* 新机器的运输固定螺栓没有拆掉；\n"
            "* 地面不平或四个底脚没有调平。\n\n"
            "排除以上原因仍然晃得厉害，可能是减震器损坏，需要上门维修。"
        ),
    },
    {
        "key": "wm-door",
        "title": "滚筒洗衣机洗完门打不开",
        "summary": "门锁还没释放、桶内有水或童锁开着。",
        "category": "洗衣机",
        "tags": ["洗衣机", "门锁"],
        "body": (
            "程序结束后门锁需要一到两分钟才会释放，请稍等。\n\n"
            "如果桶里还有水，门是锁住的，先按“排水”程序。面板上有童锁图标时，长按童锁键三秒解除。"
            "停电时请拉动过滤器盖板后面的应急开门拉绳。"
        ),
    },
    {
        "key": "wm-leak",
        "title": "洗衣机底部漏水",
        "summary": "进水管接头、排水管和门封是常见漏点。",
        "category": "洗衣机",
        "tags": ["洗衣机", "漏水"],
        "body": (
            "机器下面有水，请先关闭水龙头并断电。\n\n"
            "依次检查：进水管两头的接头是否拧紧、密封圈是否老化；排水管是否破裂；"
            "滚筒门封圈是否夹了衣物或有破损。洗衣液放太多产生大量泡沫也会从缝隙溢出。"
        ),
    },
    {
        "key": "wm-clean",
        "title": "洗衣机有异味，如何清洁内筒",
        "summary": "每月一次筒清洁，告别霉味和黑色絮状物。",
        "category": "洗衣机",
        "tags": ["洗衣机", "清洁", "异味", "保养"],
        "body": (
            "内筒夹层容易积聚污垢，洗完的衣服有臭味或者出现黑色絮状物，说明该清洁了。\n\n"
            "每月用专用槽清洁剂运行一次“筒自洁”程序；每次洗完开门通风，清理门封圈里的毛发和积水。"
            "污垢严重的可以预约拆洗服务。"
        ),
    },
    # -- water heaters (public, Chinese) ------------------------------------------------------
    {
        "key": "wh-gas-no-ignite",
        "title": "燃气热水器打不着火",
        "summary": "开热水没有点火声，检查电池、燃气和水压。",
        "category": "热水器",
        "tags": ["热水器", "燃气", "点火"],
        "body": (
            "打开热水龙头后热水器不点火、没有打火声：\n\n"
            "* 使用电池点火的机型，先更换电池；\n"
            "* 检查燃气阀门是否打开、燃气是否欠费或用完；\n"
            "* 水压太低也不会启动，试着把热水龙头开大一些。\n\n"
            "闻到燃气味请立即关闭阀门、开窗通风，不要开关电器，离开后拨打燃气公司电话。"
        ),
    },
    {
        "key": "wh-electric-not-hot",
        "title": "电热水器不加热",
        "summary": "指示灯不亮、水不热的排查办法。",
        "category": "热水器",
        "tags": ["热水器", "电热水器", "加热"],
        "body": (
            "电热水器不加热，先看面板：完全不亮，检查插座和漏电保护插头是否跳开；"
            "面板亮但加热灯不亮，检查温度是否设置得太低、是否处于预约或保温模式。\n\n"
            "如果加热灯亮了很久水还是凉的，可能是加热管或温控器损坏，请报修。"
        ),
    },
    {
        "key": "wh-temp-unstable",
        "title": "热水器水温忽冷忽热",
        "summary": "洗澡时温度不稳定的原因。",
        "category": "热水器",
        "tags": ["热水器", "水温"],
        "body": (
            "洗澡时水温一会儿烫一会儿凉，常见原因：家里其他水龙头同时用水导致水压变化；"
            "燃气热水器的水量伺服器或比例阀故障；混水阀里的冷热水比例不稳定。\n\n"
            "建议使用恒温机型或在淋浴时避免其他地方用水；仍不稳定请预约检修。"
        ),
    },
    {
        "key": "wh-magnesium",
        "title": "电热水器多久换一次镁棒、清洗水垢",
        "summary": "镁棒一到两年更换，保护内胆。",
        "category": "热水器",
        "tags": ["热水器", "镁棒", "水垢", "保养"],
        "body": (
            "镁棒用来保护内胆不被腐蚀，一般一到两年需要更换一次，水质硬的地区更短。\n\n"
            "更换镁棒时可以顺便排空内胆、冲洗水垢。这项工作需要断电、关水并拆卸部件，"
            "建议预约工程师上门处理，费用见收费标准。"
        ),
    },
    {
        "key": "wh-leakage-trip",
        "title": "电热水器漏电保护插头跳闸",
        "summary": "插头上的指示灯灭了或一开就跳，注意用电安全。",
        "category": "热水器",
        "tags": ["热水器", "漏电", "跳闸", "安全"],
        "body": (
            "漏电保护插头跳开后，可以按“复位”键重新合上。如果复位后立刻又跳闸，"
            "说明热水器或线路可能漏电，请拔掉插头、停止使用并报修。\n\n"
            "不要自行拆除漏电保护插头或换成普通插头。"
        ),
    },
    # -- fridges (public, Chinese) -------------------------------------------------------------
    {
        "key": "fr-not-cold",
        "title": "冰箱冷藏室不制冷",
        "summary": "放进去的东西不凉，先检查温度设置和门封。",
        "category": "冰箱",
        "tags": ["冰箱", "制冷", "冷藏室"],
        "body": (
            "冷藏室温度降不下来，食物不凉：\n\n"
            "* 检查温度设置，冷藏建议 2 到 5 度；\n"
            "* 门是否关严，门封条有没有变形漏气；\n"
            "* 冰箱背面和两侧要留出 10 厘米散热空间；\n"
            "* 一次放入太多热食也会让温度上升。\n\n"
            "压缩机一直不启动或者一直运转但不冷，请报修。"
        ),
    },
    {
        "key": "fr-frost",
        "title": "冰箱冷冻室结霜严重",
        "summary": "结冰太厚会影响制冷，手动除霜的方法。",
        "category": "冰箱",
        "tags": ["冰箱", "结霜", "除霜", "冷冻室"],
        "body": (
            "直冷冰箱冷冻室结霜是正常现象，但霜层超过 5 毫米就要除霜。\n\n"
            "方法：取出食物放进保温箱，断电后打开冷冻室门，在里面放一盆热水加快融化，"
            "用软布擦干。不要用刀或硬物铲冰，以免戳破蒸发器。"
            "风冷冰箱出现结霜，说明自动除霜系统故障，需要维修。"
        ),
    },
    {
        "key": "fr-noise",
        "title": "冰箱声音大、嗡嗡响",
        "summary": "哪些声音正常，哪些需要维修。",
        "category": "冰箱",
        "tags": ["冰箱", "噪音", "异响"],
        "body": (
            "压缩机工作时的轻微嗡嗡声、制冷剂流动的水流声都是正常的。\n\n"
            "声音突然变大：检查冰箱是否放平、是否贴着墙或其他物品；背面的管路有没有碰在一起。"
            "持续的咔咔声或敲击声，可能是风扇或压缩机故障，请报修。"
        ),
    },
    {
        "key": "fr-water-bottom",
        "title": "冰箱冷藏室底部积水",
        "summary": "排水孔堵了，化霜水流不出去。",
        "category": "冰箱",
        "tags": ["冰箱", "积水", "排水"],
        "body": (
            "冷藏室后壁下方有一个排水孔，化霜水从这里流到压缩机上方的接水盘蒸发掉。"
            "排水孔被食物残渣堵住，水就会积在冷藏室底部的果蔬盒下面。\n\n"
            "用附带的疏通棒或细软管疏通排水孔，再倒一点温水试试能否流走。"
        ),
    },
    # -- public, English -----------------------------------------------------------------------------
    {
        "key": "en-fees",
        "title": "Fee schedule: call-out, labour and parts",
        "summary": "What a visit costs and when it is free.",
        "category": "Fees and warranty",
        "tags": ["fees", "price"],
        "body": (
            "Our technician inspects first and quotes before any repair starts.\n\n"
            "* **Call-out charge**: 50 CNY in the city, 80 CNY in the suburbs, not charged again when we repair.\n"
            "* **Labour**: three bands (minor, standard, major), shown on the quote.\n"
            "* **Parts**: at our published price list.\n\n"
            "Repairs of manufacturing faults under warranty cost nothing."
        ),
    },
    {
        "key": "en-warranty",
        "title": "What the warranty covers",
        "summary": "One year for the whole appliance, three years for major components.",
        "category": "Fees and warranty",
        "tags": ["warranty", "guarantee"],
        "body": (
            "The whole appliance is guaranteed for one year from the date of purchase; compressors and motors "
            "for three years.\n\nNot covered: accidental damage, water or drop damage, repairs by unauthorised "
            "shops, consumables such as filters, bulbs and batteries. Keep your receipt: we need the purchase "
            "date to confirm the guarantee."
        ),
    },
    {
        "key": "en-prepare",
        "title": "Preparing for a technician visit",
        "summary": "A few things that help us fix it in one visit.",
        "category": "Visits",
        "tags": ["visit", "appointment"],
        "body": (
            "1. Make sure an adult is at home during the appointment window.\n"
            "2. Clear about one metre of space around the appliance.\n"
            "3. Have the receipt or warranty card ready.\n"
            "4. Note any error code on the display; a short video of the fault helps.\n"
            "5. Keep pets in another room.\n\nYou get a text message when the engineer sets off."
        ),
    },
    {
        "key": "en-reschedule",
        "title": "Changing or cancelling your appointment",
        "summary": "Use the tracking link or call us.",
        "category": "Visits",
        "tags": ["appointment", "cancel"],
        "body": (
            "If the booked time no longer suits you, change it at least two hours ahead through the tracking "
            "link in your text message, or call the service line. Cancelling after the engineer has set off may "
            "incur the call-out charge."
        ),
    },
    {
        "key": "en-ac-leak",
        "title": "Air conditioner dripping water indoors",
        "summary": "Water from the indoor unit usually means a blocked drain hose.",
        "category": "Air conditioners",
        "tags": ["air conditioner", "aircon", "leak"],
        "body": (
            "Cooling produces condensate that should run outside through the drain hose. Water dripping from "
            "the indoor unit is usually a blocked, kinked or flattened drain hose, a unit mounted out of level, "
            "or a dirty filter that lets the coil freeze and then thaw.\n\nSwitch off, dry the area, and check "
            "that water comes out at the end of the hose. If it still leaks, book a repair."
        ),
    },
    {
        "key": "en-ac-not-cooling",
        "title": "Air conditioner runs but the air is not cold",
        "summary": "Checks before you book a visit.",
        "category": "Air conditioners",
        "tags": ["air conditioner", "aircon", "cooling"],
        "body": (
            "Make sure the remote is in cool mode and the set temperature is below room temperature. Clean the "
            "filter; a clogged filter cuts the airflow. Check that the outdoor unit is running and not blocked.\n\n"
            "If all of this is fine and the room still does not cool down, the unit may be low on refrigerant "
            "or the compressor may have failed: book an engineer."
        ),
    },
    {
        "key": "en-wm-error",
        "title": "Front-loading washer error codes",
        "summary": "E10, E18, E21 and E40 explained.",
        "category": "Washing machines",
        "tags": ["washing machine", "washer", "error code"],
        "body": (
            "| Code | Meaning | What to do |\n|---|---|---|\n"
            "| E10 | No water coming in | Open the tap, check the inlet hose |\n"
            "| E18 / E21 | Water not pumping out | Clean the drain pump filter |\n"
            "| E40 | Door not locked | Close the door firmly |\n\n"
            "If the code comes back after a restart, book a repair and tell us the code."
        ),
    },
    {
        "key": "en-wm-not-spinning",
        "title": "Washing machine won't spin",
        "summary": "An unbalanced load is the usual reason.",
        "category": "Washing machines",
        "tags": ["washing machine", "washer", "spin"],
        "body": (
            "If the drum does not turn during the spin cycle, the load may be unbalanced (one heavy item, or "
            "everything tangled on one side), or the water has not drained. Redistribute the laundry and run a "
            "spin-only programme. A humming noise with no movement points to the motor or drive belt."
        ),
    },
    {
        "key": "en-wh-no-hot",
        "title": "Electric water heater gives no hot water",
        "summary": "Check the power, the safety plug and the thermostat.",
        "category": "Water heaters",
        "tags": ["water heater", "boiler", "hot water"],
        "body": (
            "If the display is dark, check the socket and reset the leakage-protection plug. If the display "
            "works but the heating light stays off, raise the set temperature and make sure it is not in timer "
            "mode. Cold water after a long heating period means a failed element or thermostat: book a repair."
        ),
    },
    {
        "key": "en-fridge-ice",
        "title": "Ice maker not making ice",
        "summary": "Water supply, freezer temperature and the ice maker switch.",
        "category": "Fridges",
        "tags": ["fridge", "refrigerator", "ice maker"],
        "body": (
            "Check that the ice maker is switched on and the freezer is at -18 °C or colder. Make sure the water "
            "supply valve is open and the line is not frozen or kinked. A new filter can also slow the flow for "
            "the first day."
        ),
    },
    {
        "key": "en-fridge-noise",
        "title": "Refrigerator making loud noises",
        "summary": "Which sounds are normal and which need a repair.",
        "category": "Fridges",
        "tags": ["fridge", "refrigerator", "noise"],
        "body": (
            "A low hum from the compressor and gurgling from the refrigerant are normal. A sudden loud buzz or "
            "rattle: check that the fridge stands level and does not touch the wall. Clicking or knocking that "
            "does not stop suggests a fan or compressor fault."
        ),
    },
    {
        "key": "en-dishwasher",
        "title": "Dishwasher does not clean well",
        "summary": "Filters, spray arms and loading.",
        "category": "Other appliances",
        "tags": ["dishwasher"],
        "body": (
            "Dishes that come out dirty usually mean a clogged filter at the bottom of the tub or blocked holes "
            "in the spray arms. Rinse the filter weekly, clear the spray arm holes with a toothpick, do not "
            "overload the racks, and use rinse aid and the right amount of detergent."
        ),
    },
    {
        "key": "en-microwave",
        "title": "Microwave runs but does not heat",
        "summary": "Do not open it yourself: high voltage inside.",
        "category": "Other appliances",
        "tags": ["microwave"],
        "body": (
            "If the light is on and the plate turns but the food stays cold, the magnetron, the high-voltage "
            "diode or a door switch may have failed. These parts carry a dangerous voltage even when unplugged, "
            "so please book a repair instead of opening the case."
        ),
    },
    # -- staff -------------------------------------------------------------------------------------
    {
        "key": "staff-escalation",
        "title": "客户投诉升级流程",
        "summary": "什么情况需要升级给服务经理，以及时限。",
        "category": "内部流程",
        "audience": "staff",
        "tags": ["投诉", "升级"],
        "body": (
            "以下情况请在 30 分钟内升级给当班服务经理：客户明确表示投诉；同一问题二次返修；"
            "涉及人身安全或财产损失；媒体或监管部门介入。\n\n"
            "在工单里记录投诉内容、客户诉求和已做的安抚，经理回电后在工单里补充处理结果。"
        ),
    },
    {
        "key": "staff-phone-intake",
        "title": "电话受理工单的填写规范",
        "summary": "客服接电话建单时必须问清的信息。",
        "category": "内部流程",
        "audience": "staff",
        "tags": ["受理", "建单", "电话"],
        "body": (
            "电话建单必须确认：联系人和手机号、详细地址（到门牌号）、设备品类和型号、故障现象、"
            "方便上门的时间段。\n\n"
            "故障描述用客户的原话记录，不要替客户判断故障原因；有故障代码的一定写上。"
        ),
    },
    {
        "key": "staff-fee-waiver",
        "title": "Refund and fee waiver approvals",
        "summary": "Who may waive a call-out charge or approve a refund.",
        "category": "Internal",
        "audience": "staff",
        "tags": ["refund", "waiver"],
        "body": (
            "Agents may waive a call-out charge once per customer per year when we missed the appointment "
            "window. Refunds up to 500 CNY need a dispatcher's approval; above that, a manager's. Record the "
            "reason and the approver on the work order."
        ),
    },
    # -- technicians -----------------------------------------------------------------------------
    {
        "key": "tech-refrigerant",
        "title": "R32 冷媒加注操作规范",
        "summary": "检漏、抽真空、定量加注的步骤和安全要求。",
        "category": "技术规范",
        "audience": "technician",
        "tags": ["冷媒", "加氟", "R32"],
        "body": (
            "R32 属于弱可燃冷媒，作业现场禁止明火，保持通风。\n\n"
            "1. 先用检漏仪或肥皂水找到漏点并修复；\n"
            "2. 连接压力表，抽真空 15 分钟以上，真空度达到 -0.1 MPa 后保压 5 分钟；\n"
            "3. 按铭牌标注的充注量用电子秤定量加注，液态加注；\n"
            "4. 运行 20 分钟，测量低压压力和出风温度并拍照记录。"
        ),
    },
    {
        "key": "tech-e4-diagnosis",
        "title": "变频空调 E4/P4 故障排查（压缩机驱动）",
        "summary": "外机主板、压缩机绕组和 IPM 模块的检测顺序。",
        "category": "技术规范",
        "audience": "technician",
        "tags": ["空调", "故障码", "变频", "压缩机"],
        "equipment_models": "KFR-35GW,KFR-26GW",
        "body": (
            "E4/P4 表示压缩机驱动异常。排查顺序：\n\n"
            "1. 断电 5 分钟后测量电源电压，低于 198V 先处理电压问题；\n"
            "2. 测压缩机三相绕组阻值，三组应基本相同；\n"
            "3. 检查 IPM 模块和外机主板，有烧蚀痕迹的整板更换；\n"
            "4. 更换后试机 30 分钟，记录运行频率和电流。"
        ),
    },
    {
        "key": "tech-completion",
        "title": "完工报告、拍照与客户签字要求",
        "summary": "每单完工必须上传的照片和必填项。",
        "category": "技术规范",
        "audience": "technician",
        "tags": ["完工报告", "签字", "拍照"],
        "body": (
            "完工报告必须包含：故障原因、处理措施、更换配件及数量。\n\n"
            "照片至少三张：维修前的故障部位、更换下来的旧件、维修后正常运行的状态（带显示屏或温度计读数）。"
            "客户在手机上签字确认后才能提交完工。"
        ),
    },
    {
        "key": "tech-gas-safety",
        "title": "Gas water heater safety checks after repair",
        "summary": "Leak test, flue and CO check before you leave.",
        "category": "Technical procedures",
        "audience": "technician",
        "tags": ["water heater", "gas", "safety"],
        "body": (
            "After any repair on a gas water heater: leak-test every gas joint with soapy water or a detector; "
            "check that the flue is sealed and leads outdoors; run the heater for ten minutes and measure carbon "
            "monoxide near the appliance. Record the readings with a photo in the completion report."
        ),
    },
]

# (query, key of the article that answers it)
QUERIES = [
    # Chinese, customers
    ("空调不凉快", "ac-not-cooling"),
    ("空调滴水", "ac-leaking"),
    ("空调外机响声很大", "ac-noise"),
    ("空调滤网怎么洗", "ac-clean-filter"),
    ("空调有股霉味", "ac-smell"),
    ("遥控器按了没反应", "ac-remote"),
    ("空调显示E1是什么意思", "ac-error-codes"),
    ("冬天开空调吹冷风", "ac-heating"),
    ("洗衣机水排不出去", "wm-not-draining"),
    ("洗衣机甩干的时候晃得厉害", "wm-shaking"),
    ("滚筒门锁住了打不开", "wm-door"),
    ("洗衣机下面漏水", "wm-leak"),
    ("洗完的衣服有臭味", "wm-clean"),
    ("燃气热水器点不着火", "wh-gas-no-ignite"),
    ("电热水器不出热水", "wh-electric-not-hot"),
    ("洗澡水一会冷一会热", "wh-temp-unstable"),
    ("镁棒多久换一次", "wh-magnesium"),
    ("热水器插头老是跳闸", "wh-leakage-trip"),
    ("冰箱不冷了", "fr-not-cold"),
    ("冷冻室结冰太厚", "fr-frost"),
    ("冰箱里面有积水", "fr-water-bottom"),
    ("上门费多少钱", "fee-schedule"),
    ("保修期内维修要钱吗", "warranty-policy"),
    ("师傅上门前要准备什么", "visit-prep"),
    ("预约时间想改一下", "reschedule"),
    ("怎么查维修进度", "track-order"),
    ("可以开发票吗", "invoice"),
    ("空调移机多少钱", "install-ac"),
    # Chinese, staff and technicians
    ("客户要投诉怎么处理", "staff-escalation"),
    ("R32加氟步骤", "tech-refrigerant"),
    ("变频空调报E4", "tech-e4-diagnosis"),
    # English
    ("air conditioner leaking water", "en-ac-leak"),
    ("aircon not blowing cold air", "en-ac-not-cooling"),
    ("how much is the call out fee", "en-fees"),
    ("what should I do before the technician comes", "en-prepare"),
    ("reschedule my appointment", "en-reschedule"),
    ("is my repair covered by warranty", "en-warranty"),
    ("washer shows error code E21", "en-wm-error"),
    ("washing machine drum not spinning", "en-wm-not-spinning"),
    ("no hot water from electric heater", "en-wh-no-hot"),
    ("ice maker stopped working", "en-fridge-ice"),
    ("refrigerator buzzing loudly", "en-fridge-noise"),
    ("dishes still dirty after dishwasher cycle", "en-dishwasher"),
    ("microwave not heating food", "en-microwave"),
    ("fee waiver approval", "staff-fee-waiver"),
    ("gas heater safety check after repair", "tech-gas-safety"),
]

# Written after the approaches above had been tried on QUERIES (which shaped the
# design), and never used to change it: a check that the figures are not just
# the result of tuning to QUERIES.
QUERIES_HELDOUT = [
    ("空调开了半天屋里还是热", "ac-not-cooling"),
    ("挂机往下滴水", "ac-leaking"),
    ("热水器没有打火的声音", "wh-gas-no-ignite"),
    ("洗衣机跳来跳去", "wm-shaking"),
    ("冰箱后面排水孔堵了", "fr-water-bottom"),
    ("修好以后旧零件能给我吗", "fee-schedule"),
    ("工程师到哪了", "track-order"),
    ("人为损坏保修吗", "warranty-policy"),
    ("空调制热时外机冒白气", "ac-heating"),
    ("内筒有黑色的脏东西", "wm-clean"),
    ("漏电保护插头复位后又跳", "wh-leakage-trip"),
    ("电热水器的水垢怎么清理", "wh-magnesium"),
    ("出厂日期怎么算保修", "warranty-check"),
    ("付款可以用支付宝吗", "payment"),
    ("water dripping from AC indoor unit", "en-ac-leak"),
    ("drain pump filter clogged washer", "en-wm-error"),
    ("freezer ice maker no water", "en-fridge-ice"),
    ("how long is the guarantee", "en-warranty"),
    ("can I change the visit time", "en-reschedule"),
    ("heating element failed water heater", "en-wh-no-hot"),
    ("who approves a refund", "staff-fee-waiver"),
    ("carbon monoxide test gas heater", "tech-gas-safety"),
]
