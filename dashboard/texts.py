"""Every user-visible word of the dashboard in Simplified Chinese and English.

``t(key, lang)`` looks a text up; Chinese (``zh``) is the default language. Status names,
units, axis titles, empty-state messages and column headers all live here, so a page never
shows a literal string of its own.
"""

from __future__ import annotations

from typing import Final

from quota.labels import STATUS_NAMES

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANG: Final = "zh"

# key: (zh, en)
TEXTS: Final[dict[str, tuple[str, str]]] = {
    # shell
    "app_title": ("公共建筑能耗限额监管", "QuotaWatch — public-building energy quotas"),
    "nav_city": ("全市达标情况", "City compliance"),
    "nav_my_buildings": ("我的建筑", "My buildings"),
    "computed_line": (
        "数据计算于 {when}（{tz}），评估 #{evaluation_id}，截至 {as_of}；有新评估时本页自动更新。",
        "Figures computed {when} ({tz}) by evaluation #{evaluation_id}, data as of {as_of}; "
        "this page updates itself when a new evaluation is stored.",
    ),
    "nav_retrofit": ("改造候选", "Retrofit candidates"),
    "nav_quality": ("数据质量", "Data quality"),
    "logout": ("退出登录", "Log out"),
    "switch_language": ("English", "中文"),
    "signed_in_as": ("当前用户：{user}（{role}）", "Signed in as {user} ({role})"),
    "role_regulator": ("监管人员", "regulator"),
    "role_analyst": ("分析人员", "analyst"),
    "role_manager": ("建筑管理者", "building manager"),
    "not_found": ("页面不存在", "Page not found"),
    "back_to_city": ("返回全市页面", "Back to the city page"),
    "back_to_my_buildings": ("返回我的建筑", "Back to my buildings"),
    "forbidden_page": ("您的角色无权查看此页面。", "Your role may not view this page."),
    "loading": ("加载中…", "Loading…"),
    "pick_date": ("选择日期", "Select a date"),
    # Areas of the audit log's actions (dashboard/pages/audit.py).
    "audit_area_quota": ("限额", "Quota"),
    "audit_area_registry": ("登记信息", "Registry"),
    "audit_area_determination": ("年度认定", "Determination"),
    "audit_area_reading": ("读数", "Reading"),
    "audit_area_user": ("用户", "User"),
    "audit_area_appeal": ("申诉", "Appeal"),
    # selectors
    "year": ("年份", "Year"),
    "as_of": ("截至日期", "As of"),
    "basis": ("考核口径", "Basis"),
    "district": ("区", "District"),
    "building_type": ("建筑类型", "Building type"),
    "size_class": ("规模", "Size class"),
    "all": ("全部", "All"),
    "month": ("月份", "Month"),
    "min_area": ("最小建筑面积（m²）", "Minimum floor area (m²)"),
    "trigger": ("触发条件", "Trigger"),
    "basis_electricity_kwh": ("电耗（kWh）", "Electricity (kWh)"),
    "basis_energy_kgce": ("综合能耗（kgce）", "Total energy (kgce)"),
    "size_small": ("3,000 m² 以下", "below 3,000 m²"),
    "size_ordinary": ("一般公共建筑", "ordinary (3,000–20,000 m²)"),
    "size_large": ("大型公共建筑（> 20,000 m²）", "large (> 20,000 m²)"),
    # statuses
    **{f"status_{code}": names for code, names in STATUS_NAMES.items()},
    "status": ("状态", "Status"),
    # headline
    "kpi_evaluated": ("参评建筑", "Buildings evaluated"),
    "kpi_floor_area": ("建筑面积", "Floor area"),
    "kpi_share_within": ("限额内比例", "Share within quota"),
    "kpi_within_own": ("限额内的建筑（已评定）", "Buildings within quota (of those judged)"),
    "kpi_within_of": (
        "{judged} 栋已评定建筑中 {within} 栋在限额内",
        "{within} of {judged} judged buildings",
    ),
    "kpi_at_risk": ("有超限风险", "At risk"),
    "kpi_insufficient": ("数据不足", "Insufficient data"),
    "kpi_over_count": ("{tier}：{count} 栋", "{tier}: {count} buildings"),
    "kpi_excess": ("超出 {value}", "excess {value}"),
    "kpi_excess_to_date": ("至今超出 {value}", "excess to date {value}"),
    "kpi_projected_excess": ("预计年末超出 {value}", "projected at year end {value}"),
    "kpi_over_100": ("超限额（100–120 %）", "Over quota (100–120 %)"),
    "kpi_over_120": ("超限额 20% 以上（> 120 %）", "Over quota by > 20 % (> 120 %)"),
    "kpi_repeat_inside": ("其中连续两年：{count} 栋", "of which two years running: {count}"),
    "next_step": ("后果：{text}", "Next: {text}"),
    # What follows each tier ([tiers.consequences] of the rule parameters; the English text
    # is taken from the rules when they carry one).
    "consequence_over": (
        "超限额：应开展能源审计并实施改造",
        "over quota: energy audit and retrofit expected",
    ),
    "consequence_over_20": (
        "主管部门可责令开展能源审计并限期改造",
        "the authority may order an energy audit and retrofit",
    ),
    "consequence_over_20_repeat": (
        "列入有序用电 / 限电优先名单；处 3 万至 10 万元罚款",
        "priority for orderly power use / load shedding; fine of CNY 30,000-100,000",
    ),
    # charts
    "chart_by_district": ("各区状态分布", "Status by district"),
    "chart_by_type": ("各类型状态分布", "Status by building type"),
    "chart_utilization": ("限额使用率分布", "Distribution of quota utilization"),
    "axis_buildings": ("建筑数（栋）", "Buildings (count)"),
    "axis_utilization_pct": ("限额使用率（%）", "Quota utilization (%)"),
    "axis_date": ("日期", "Date"),
    "axis_month": ("月份", "Month"),
    "axis_day": ("日期", "Day"),
    "axis_hour": ("小时（当地时间）", "Hour of day (local time)"),
    "axis_energy": ("能耗（{unit}）", "Energy ({unit})"),
    "axis_eui": ("单位面积能耗（kWh/m²）", "Energy-use intensity (kWh/m²)"),
    "chart_cumulative": (
        "{year} 年累计用能与限额轨迹",
        "Cumulative use in {year} vs quota trajectory",
    ),
    "series_actual": ("实际累计", "Actual cumulative"),
    "series_trajectory": (
        "限额轨迹（预期占比 × 限额）",
        "Quota trajectory (expected share × quota)",
    ),
    "series_quota": ("年度限额", "Annual quota"),
    "series_projection": ("年末预测", "Year-end projection"),
    "chart_monthly": ("月度用能：今年与去年", "Monthly use: this year vs last year"),
    "chart_heatmap": ("逐时用电热力图（{month}）", "Hour-of-day electricity use ({month})"),
    "chart_history": ("历次评估状态", "Status history"),
    "chart_peers": ("同类型建筑中的位置", "Position among peers of the same type"),
    "peer_range": ("同类 P10–P90", "Peers P10–P90"),
    "peer_iqr": ("同类 P25–P75", "Peers P25–P75"),
    "peer_median": ("同类中位数", "Peer median"),
    "this_building": ("本建筑", "This building"),
    "peer_percentile": (
        "单位面积能耗位于同类 {count} 栋建筑的第 {pct} 百分位",
        "EUI at the {pct}th percentile of {count} peers of its type",
    ),
    "axis_as_of": ("评估截至日期", "Evaluation as of"),
    "colorbar_kwh": ("kWh", "kWh"),
    # building page
    "building_header": ("{name}（{id}）", "{name} ({id})"),
    "building_facts": (
        "{district} · {type} · 建筑面积 {area} m²",
        "{district} · {type} · floor area {area} m²",
    ),
    "figures_through_note": (
        "仅按账单计量：数据截至最近账单的最后一天 {day}，"
        "使用率、预期占比与年末预测均按截至该日计算。",
        "Billed only: the figures run through {day}, the last day billed; use, expected share "
        "and year-end projection are compared through that day.",
    ),
    "building_status_line": (
        "{year} 年（截至 {as_of}）状态：{status}，使用率 {util}，年末预测 {projected}",
        "{year} (as of {as_of}) status: {status}, utilization {util}, "
        "year-end projection {projected}",
    ),
    "building_final_line": (
        "{year} 年最终结果：{status}，全年用能 {used}，限额 {quota}，使用率 {util}",
        "{year} final figures: {status}, use {used} of a quota of {quota} ({util})",
    ),
    "final_excess": ("全年超出限额 {value}。", "The year ended {value} over the quota."),
    "allowance_summary": (
        "限额 {quota}，截至 {as_of} 已用 {used}，剩余 {remaining}（本年还剩 {days} 天）。",
        "Quota {quota}; used {used} to {as_of}; remaining {remaining} ({days} days left).",
    ),
    "allowance_quota": (
        "不超过限额：余下每天最多用 {per_day}{pace}",
        "To stay within the quota: at most {per_day} a day for the rest of the year{pace}",
    ),
    "allowance_120": (
        "不超过限额的 120 %：余下每天最多用 {per_day}{pace}",
        "To stay within 120 % of the quota: at most {per_day} a day for the rest of the year{pace}",
    ),
    "allowance_quota_exceeded": (
        "已超出限额达 {value}：本年内已无法回到限额以内。",
        "Already {value} over the quota: it cannot be met this year.",
    ),
    "allowance_120_exceeded": (
        "已超出限额的 120 % 达 {value}：本年内已无法回到 120 % 以内。",
        "Already {value} over 120 % of the quota: that line cannot be met this year.",
    ),
    "pace_below": ("（比目前的日均用量低 {pct} %）。", " ({pct} % below your pace so far)."),
    "pace_above": (
        "（比目前的日均用量高 {pct} %，仍有余量）。",
        " ({pct} % above your pace so far: there is room).",
    ),
    "remaining_none": ("无", "none"),
    "method_link": ("计算方法说明", "How this is calculated"),
    "unverified_explained": (
        "本结果所用的部分规则参数（{groups}）尚未与其来源核实，结果可能随参数核实而变化。",
        "Some rule parameters behind this result ({groups}) have not yet been checked "
        "against their source; the result may change once they are.",
    ),
    # Sections of the rule parameters (quota/rules_default.toml), named in the notes.
    "rule_group_scope": ("纳入范围", "scope"),
    "rule_group_tiers": ("超限分级", "tiers"),
    "rule_group_data": ("数据充分性", "data sufficiency"),
    "rule_group_conversion": ("折标系数", "conversion factors"),
    "rule_group_emissions": ("排放因子", "emission factors"),
    "rule_group_units": ("单位换算", "unit conversion"),
    "rule_group_profiles": ("用能曲线", "load profiles"),
    "rule_group_proposal": ("限额核定方法", "quota proposal method"),
    "rule_group_retrofit": ("改造筛选", "retrofit screening"),
    "rule_group_surcharge": ("加价", "surcharge"),
    "rule_group_standards": ("标准约束值", "standard values"),
    "rule_group_ingest": ("数据导入", "ingest"),
    "rule_group_bills": ("账单", "bills"),
    "peer_position": (
        "单位面积能耗高于同类型其他 {count} 栋建筑中的 {pct} %（0 % 为最低）。",
        "Its energy-use intensity is higher than that of {pct} % of the {count} other "
        "buildings of its type (0 % = the lowest).",
    ),
    "peer_too_few": (
        "同类型其他建筑只有 {count} 栋（少于 {min} 栋），不作同类比较。",
        "Only {count} other buildings of its type (fewer than {min}), so no peer comparison.",
    ),
    "out_of_scope_why": (
        "本建筑不在限额管理范围内：{reasons}。因此不评定状态、不设限额。",
        "This building is outside the quota scheme: {reasons}. It has no quota and no status.",
    ),
    "scope_area": (
        "建筑面积 {area} m² 小于 {min} m²",
        "its floor area of {area} m² is below {min} m²",
    ),
    "scope_share": (
        "公共使用面积占比 {share} % 低于 {min} %",
        "its public-use share of {share} % is below {min} %",
    ),
    "scope_unknown": ("登记信息不满足纳入条件", "its registry entry does not meet the criteria"),
    "method_title": ("计算方法", "How the figures are calculated"),
    "method_scope": (
        "纳入范围：建筑面积不小于 {area} m² 且公共使用面积占比不低于 {share} % 的单体公共建筑。",
        "In scope: single public buildings of at least {area} m² with a public-use share of "
        "at least {share} %.",
    ),
    "method_tiers": (
        "超限额：累计用能高于限额；超 20 %：高于限额的 {over} %；"
        "连续两年：去年全年也高于 {over} %。",
        "Over quota: use above the quota; over by > 20 %: above {over} % of it; two years "
        "running: last year's final use was also above {over} %.",
    ),
    "meters": ("计量表", "Meters"),
    "col_meter_id": ("表号", "Meter"),
    "col_energy_type": ("能源类型", "Energy type"),
    "col_unit": ("单位", "Unit"),
    "col_completeness_pct": ("数据完整率（%）", "Data completeness (%)"),
    "col_last_day": ("最近读数日期", "Last reading (day)"),
    "energy_electricity": ("电", "Electricity"),
    "energy_natural_gas": ("天然气", "Natural gas"),
    "energy_district_heat": ("热力", "District heat"),
    # tables
    "col_building": ("建筑", "Building"),
    "col_building_id": ("建筑编号", "Building ID"),
    "col_name": ("名称", "Name"),
    "col_district": ("区", "District"),
    "col_type": ("类型", "Type"),
    "col_floor_area_m2": ("建筑面积（m²）", "Floor area (m²)"),
    "col_status": ("状态", "Status"),
    "col_utilization_pct": ("使用率（%）", "Utilization (%)"),
    "col_energy": ("累计用能（{unit}）", "Use to date ({unit})"),
    "col_quota": ("限额（{unit}）", "Quota ({unit})"),
    "col_projected": ("年末预测（{unit}）", "Year-end projection ({unit})"),
    "col_excess": ("超出量（{unit}）", "Excess ({unit})"),
    "col_projected_excess": ("预计年末超出量（{unit}）", "Projected excess at year end ({unit})"),
    "col_binding_basis": ("约束口径", "Binding basis"),
    "col_eui": ("单位面积能耗（kWh/m²）", "EUI (kWh/m²)"),
    "col_corrected_eui": ("修正后能耗（kWh/m²）", "Corrected EUI (kWh/m²)"),
    "col_target_eui": ("目标能耗（kWh/m²）", "Target EUI (kWh/m²)"),
    "col_savings_kwh": ("节能潜力（kWh/年）", "Savings potential (kWh/a)"),
    "col_savings_kgce": ("节能潜力（kgce/年）", "Savings potential (kgce/a)"),
    "col_savings_tco2": ("减排潜力（tCO₂/年）", "CO₂ savings (tCO₂/a)"),
    "col_savings_cny": ("节约费用（元/年）", "Cost savings (CNY/a)"),
    "col_triggers": ("触发条件", "Triggers"),
    "col_rank": ("排名", "Rank"),
    # retrofit
    "trigger_over_20": ("超限额 20% 以上", "> 120 % of quota"),
    "trigger_over_20_repeat": ("连续两年超 20%", "> 120 % two years running"),
    "trigger_above_constraint": ("高于约束值", "EUI above constraint value"),
    "trigger_worst_of_type": ("同类最差 5%", "worst 5 % of its type"),
    "retro_totals": (
        "{count} 栋候选建筑，节能潜力合计 {kwh} kWh/年（{kgce} kgce，{tco2} tCO₂，{cny} 元）",
        "{count} candidates, total savings potential {kwh} kWh/a ({kgce} kgce, {tco2} tCO₂, "
        "CNY {cny})",
    ),
    "download_csv": ("下载 CSV", "Download CSV"),
    "download_xlsx": ("下载 XLSX", "Download XLSX"),
    "export_analyst_only": ("仅分析人员可导出。", "Only analysts may export."),
    "retro_source_engine": (
        "来自限额引擎（评估 #{evaluation_id}，截至 {as_of}），与 quotawatch export retrofit "
        "采用同一筛选（含夜间/周末基础负荷触发条件）：节能潜力 = max(0, 修正后 EUI − 目标 EUI) "
        "× 建筑面积；排名为全市排名。",
        "From the quota engine (evaluation #{evaluation_id}, as of {as_of}), the same "
        "screening as quotawatch export retrofit (night/weekend base load included): savings "
        "potential = max(0, corrected EUI − target EUI) × floor area; the rank is city-wide.",
    ),
    "retro_excess_note": (
        "超限额建筑的节能潜力至少为其超出限额的电量（无目标 EUI 时亦然），"
        "“节能潜力依据”一列说明采用哪一项。",
        "A building over its quota can save at least its excess over the quota, also when "
        "no target EUI exists; the column “Savings potential from” says which applies.",
    ),
    "col_savings_source": ("节能潜力依据", "Savings potential from"),
    "savings_source_target_eui": ("目标 EUI", "target EUI"),
    "savings_source_excess": ("超出限额量", "excess over quota"),
    "savings_source_none": ("—", "—"),
    "col_as_of": ("评估截至日期", "Evaluation as of"),
    "col_evaluation_id": ("评估编号", "Evaluation id"),
    "trigger_high_base_load": ("夜间/周末基础负荷高", "High night/weekend base load"),
    # data quality
    "dq_ingest_runs": ("最近的导入批次", "Recent ingest runs"),
    "dq_job_runs": ("最近的任务运行", "Recent job runs"),
    "dq_quarantine": ("按原因统计的隔离记录", "Quarantined rows by reason"),
    "dq_stale": ("数据陈旧或缺失的计量表", "Meters with stale or missing data"),
    "dq_stale_days": ("多少天无数据视为陈旧", "Days without data counted as stale"),
    "dq_reason": ("原因", "Reason"),
    # scheduler heartbeat (data-quality page; see dashboard/heartbeat.py)
    "hb_title": ("调度程序心跳", "Scheduler heartbeat"),
    "hb_line": (
        "最近心跳：{beat}（{age}前），主机 {host}，进程 {pid}，每 {interval} 分钟读取一次收件箱，"
        "重连 {reconnects} 次。",
        "Last beat {beat} ({age} ago), host {host}, process {pid}, inbox every {interval} min, "
        "{reconnects} reconnections.",
    ),
    "hb_never": ("尚无调度程序运行过。", "No scheduler has run yet."),
    "hb_stale": (
        "调度程序心跳已过期：新的读数文件没有被导入，数据可能已停止更新。请检查调度程序进程"
        "（见运维文档 docs/operations.md）。",
        "The scheduler's heartbeat is stale: new reading files are not being loaded and the "
        "figures may have stopped updating. Check the scheduler process (see "
        "docs/operations.md).",
    ),
    "col_run_id": ("批次", "Run"),
    "col_trigger": ("触发方式", "Trigger"),
    "col_started_at": ("开始时间", "Started"),
    "col_finished_at": ("结束时间", "Finished"),
    "col_outcome": ("结果", "Outcome"),
    "col_files": ("文件数", "Files"),
    "col_rows_read": ("读取行数", "Rows read"),
    "col_rows_loaded": ("入库行数", "Rows loaded"),
    "col_rows_duplicate": ("重复行数", "Duplicate rows"),
    "col_rows_quarantined": ("隔离行数", "Quarantined rows"),
    "col_job_id": ("任务", "Job"),
    "col_job_detail": ("详情（年份 / 截至日期 / 编号）", "Detail (year / as of / id)"),
    "col_reason": ("原因", "Reason"),
    "dq_stale_days_help": (
        "计量表最近一天的数据早于这么多天前即列出（整数，至少 1）。",
        "A meter is listed when its last day with data is more than this many days ago "
        "(a whole number, at least 1).",
    ),
    "dq_stale_days_invalid": (
        "请输入至少为 1 的整数天数。",
        "Enter a whole number of days, at least 1.",
    ),
    "job_inbox": ("收件箱导入", "Inbox import"),
    "job_nightly_evaluation": ("每晚评估", "Nightly evaluation"),
    "job_evaluation": ("评估", "Evaluation"),
    "outcome_running": ("运行中", "running"),
    "outcome_succeeded": ("成功", "succeeded"),
    "outcome_failed": ("失败", "failed"),
    "outcome_partial": ("部分成功", "partly succeeded"),
    "outcome_skipped": ("跳过", "skipped"),
    "run_trigger_cli": ("命令行", "command line"),
    "run_trigger_scheduler": ("定时任务", "scheduler"),
    "run_trigger_test": ("测试", "test"),
    "reason_malformed_row": ("字段数与表头不符", "Fields do not match the header"),
    "reason_unknown_meter": ("未登记的计量表", "Unknown meter"),
    "reason_bad_timestamp": ("时间格式无效", "Invalid timestamp"),
    "reason_future_timestamp": ("时间在未来", "Timestamp in the future"),
    "reason_bad_value": ("读数不是有效数字", "Value is not a number"),
    "reason_negative_value": ("读数为负", "Negative value"),
    "reason_bad_unit": ("单位无效", "Invalid unit"),
    "reason_conflicting_duplicate": ("重复且数值不同", "Conflicting duplicate"),
    "reason_register_decrease": ("累计读数减少", "Register decreased"),
    "reason_above_register_max": ("超过表计最大值", "Above the register maximum"),
    "reason_implausible_timestamp": ("时间早于可信日期", "Timestamp implausibly early"),
    "reason_implausible_value": ("平均功率超过上限", "Average power above the ceiling"),
    "reason_unknown_account": ("未登记的户号", "Unknown account"),
    "reason_bad_period": ("账期无效", "Invalid billing period"),
    "reason_overlapping_bill": ("与已有账单重叠", "Overlaps a stored bill"),
    "job_scheduler": ("调度程序", "Scheduler"),
    # Quarantine messages (dashboard/quarantine_text.py): rendered from a row's reason code
    # and its stored details, so they read in the viewer's language.
    "qmsg_malformed_row": (
        "该行字段与表头不符（缺少或多出字段），或含有 NUL 字节或长得不可能的字段。",
        "The row does not have the header's fields (missing or extra fields), or holds a "
        "NUL byte or a field too long to be real.",
    ),
    "qmsg_unknown_meter": (
        "计量表 {meter_id} 不在计量表登记册中。",
        "Meter {meter_id} is not in the meter registry.",
    ),
    "qmsg_unknown_meter_any": ("计量表不在登记册中。", "The meter is not in the registry."),
    "qmsg_bad_timestamp": (
        "时间“{timestamp}”无效：格式不受支持，或在限额时区内不存在或有歧义。",
        "Timestamp “{timestamp}” is not a supported format, or a local time that does not "
        "exist or is ambiguous in the quota time zone.",
    ),
    "qmsg_bad_timestamp_any": ("时间无效。", "The timestamp is invalid."),
    "qmsg_implausible_timestamp": (
        "时间 {timestamp} 早于最早可信日期（earliest_reading_date）。",
        "Timestamp {timestamp} lies before the earliest plausible date (earliest_reading_date).",
    ),
    "qmsg_implausible_timestamp_moved": (
        "时间早于 1900-01-01：已从入库读数移入隔离区（迁移 0041）。",
        "Timestamp before 1900-01-01: moved out of the stored readings (migration 0041).",
    ),
    "qmsg_implausible_timestamp_any": (
        "时间早于最早可信日期。",
        "The date lies before the earliest plausible date.",
    ),
    "qmsg_bad_value": ("读数“{value}”不是有限的数值。", "Value “{value}” is not a finite number."),
    "qmsg_bad_value_any": ("读数不是有限的数值。", "The value is not a finite number."),
    "qmsg_negative_value": ("读数 {value} 为负值。", "Value {value} is negative."),
    "qmsg_negative_any": ("读数为负值。", "The value is negative."),
    "qmsg_bad_unit": (
        "单位“{unit}”未知，或不适用于该计量表的能源类型。",
        "Unit “{unit}” is unknown or not valid for the meter's energy type.",
    ),
    "qmsg_bad_unit_any": ("单位无效。", "The unit is invalid."),
    "qmsg_implausible_value": (
        "读数 {value} {unit} 意味着读数间隔内的平均功率超过该表的上限（max_power_kw）。",
        "{value} {unit} means an average power over the reading's interval above the "
        "meter's ceiling (max_power_kw).",
    ),
    "qmsg_implausible_value_register": (
        "自上一读数（{previous_at}）以来用能 {energy_kwh} kWh，平均功率超过该表的上限"
        "（max_power_kw）。",
        "{energy_kwh} kWh since the previous reading ({previous_at}) means an average power "
        "above the meter's ceiling (max_power_kw).",
    ),
    "qmsg_implausible_value_any": (
        "平均功率超过上限（max_power_kw）。",
        "The average power is above the ceiling (max_power_kw).",
    ),
    "qmsg_future_timestamp": (
        "时间 {timestamp} 在未来。",
        "Timestamp {timestamp} lies in the future.",
    ),
    "qmsg_future_timestamp_any": ("时间在未来。", "The timestamp lies in the future."),
    "qmsg_above_register_max": (
        "累计读数 {value} {unit} 超过表计能显示的最大值（register_max）。",
        "Register reading {value} {unit} is above the largest value the register shows "
        "(register_max).",
    ),
    "qmsg_above_register_max_any": (
        "累计读数超过表计能显示的最大值（register_max）。",
        "The register reading is above the largest value the register shows (register_max).",
    ),
    "qmsg_duplicate_in_file": (
        "本文件第 {kept_line} 行已有同一计量表、同一时间的读数，数值不同（{kept_value}）。",
        "Line {kept_line} of this file has the same meter and time with a different value "
        "({kept_value}).",
    ),
    "qmsg_duplicate_stored": (
        "同一计量表、同一时间已存有不同的读数（{stored_value} {stored_unit}）。",
        "The same meter and time is already stored with a different value "
        "({stored_value} {stored_unit}).",
    ),
    "qmsg_duplicate_any": (
        "同一计量表、同一时间已有不同的读数。",
        "The same meter and time already has a different value.",
    ),
    "qmsg_register_decrease": (
        "累计读数下降：{earlier_at} 为 {earlier_kwh} kWh，{later_at} 为 {later_kwh} kWh；"
        "表计最大值（register_max）不能解释为归零重计，下一读数作为新的基准。",
        "The register fell from {earlier_kwh} kWh at {earlier_at} to {later_kwh} kWh at "
        "{later_at} and register_max does not explain a rollover; the next reading starts a "
        "new baseline.",
    ),
    "qmsg_register_decrease_any": (
        "累计读数下降，表计最大值（register_max）不能解释为归零重计。",
        "The register decreased and register_max does not explain a rollover.",
    ),
    "qmsg_bill_malformed_row": ("该行缺少必需的字段。", "The row lacks a required field."),
    "qmsg_bill_unknown_account": (
        "户号 {account_id} 不在户号登记册中。",
        "Account {account_id} is not in the account registry.",
    ),
    "qmsg_bill_unknown_account_any": ("户号未登记。", "The account is not registered."),
    "qmsg_bill_period_too_long": (
        "账期 {days} 天，超过上限 max_bill_days（{max_bill_days} 天）。",
        "The period has {days} days, more than max_bill_days ({max_bill_days}).",
    ),
    "qmsg_bill_bad_period": (
        "账期日期不是 YYYY-MM-DD，或结束日期早于开始日期。",
        "A period date is not YYYY-MM-DD, or the period ends before it starts.",
    ),
    "qmsg_bill_too_early": (
        "账期开始早于最早可信日期 {earliest}。",
        "The period starts before the earliest plausible date {earliest}.",
    ),
    "qmsg_bill_bad_value": (
        "用量不是数字，或估抄标记不是 1/0、true/false 或 E/A。",
        "The value is not a number, or the estimated flag is not 1/0, true/false or E/A.",
    ),
    "qmsg_bill_bad_unit": (
        "单位不适用于该户号的能源类型（{energy}）。",
        "The unit is not valid for the account's energy type ({energy}).",
    ),
    "qmsg_bill_implausible_value": (
        "平均功率 {average_kw} kW，超过上限 {max_power_kw} kW。",
        "An average of {average_kw} kW, above the ceiling of {max_power_kw} kW.",
    ),
    "qmsg_bill_overlapping": (
        "同一户号已有账单覆盖 {overlapped_start} 至 {overlapped_end}，与本账期重叠"
        "（保留已存账单；更正文件可替换它）。",
        "A bill of the same account already covers {overlapped_start} to {overlapped_end}, "
        "overlapping this period (the stored bill stays; a corrections file replaces it).",
    ),
    "qmsg_bill_overlapping_any": (
        "同一户号已有账单覆盖部分账期。",
        "A bill of the same account already covers part of the period.",
    ),
    "col_error": ("错误", "Error"),
    "col_reason_code": ("原因代码", "Reason code"),
    "col_rows": ("行数", "Rows"),
    "col_last_seen_at": ("最近一次", "Last seen"),
    "col_quarantine_id": ("编号", "ID"),
    "col_file_name": ("文件", "File"),
    "col_line_number": ("行号", "Line"),
    "col_raw_row": ("原始内容", "Raw row"),
    "col_message": ("说明", "Message"),
    "col_days_stale": ("无数据天数", "Days without data"),
    "never": ("从未", "never"),
    # empty states
    "empty_no_evaluation": (
        "{year} 年尚无评估结果：请先导入限额并运行评估（quotawatch evaluate）。",
        "No evaluation for {year} yet: import quotas and run the evaluation (quotawatch evaluate).",
    ),
    "empty_no_years": (
        "尚无任何评估结果：请导入建筑、限额和读数后运行评估。",
        "No evaluation results yet: import buildings, quotas and readings, then evaluate.",
    ),
    "empty_no_buildings_visible": (
        "您名下没有分配建筑，请联系管理员。",
        "No buildings are assigned to you; ask an administrator.",
    ),
    "empty_filters": ("没有符合筛选条件的建筑。", "No buildings match the filters."),
    "empty_no_quota_year": (
        "{year} 年未导入限额，无法计算使用率。",
        "No quota imported for {year}, so there is no utilization to show.",
    ),
    "empty_no_daily": (
        "{year} 年没有日用能数据（尚未导入读数）。",
        "No daily energy data for {year} (no readings loaded yet).",
    ),
    "empty_no_readings_month": (
        "{month} 没有电表读数。",
        "No electricity readings in {month}.",
    ),
    "empty_no_meters": ("该建筑没有登记计量表。", "No meters are registered for this building."),
    "empty_no_history": ("该建筑尚无评估记录。", "No evaluations of this building yet."),
    "empty_no_history_year": (
        "该建筑 {year} 年尚无评估记录。",
        "No evaluations of this building in {year}.",
    ),
    "series_partial_month": ("当月（截至 {day}，未满月）", "This month (to {day}, partial)"),
    "empty_no_peers": (
        "同类型建筑不足 {min} 栋或缺少单位面积能耗，无法比较。",
        "Fewer than {min} peers of this type with an EUI, so no comparison.",
    ),
    "empty_no_trajectory": (
        "无限额或无预期用能曲线，只显示实际累计。",
        "No quota or expected-share curve, so only the actual cumulative use is shown.",
    ),
    "empty_building": (
        "没有该建筑，或该建筑未分配给您。",
        "No such building, or it is not assigned to you.",
    ),
    "empty_no_candidates": (
        "{year} 年没有符合条件的改造候选建筑。",
        "No retrofit candidates match for {year}.",
    ),
    "empty_no_ingest": ("尚未导入任何文件。", "No files ingested yet."),
    "empty_no_jobs": ("调度任务尚未运行。", "No scheduler jobs have run yet."),
    "empty_no_quarantine": ("没有隔离记录。", "No quarantined rows."),
    "empty_no_stale": ("所有计量表数据都是最新的。", "Every meter has recent data."),
    "unverified": ("（参数未经核实）", "(unverified parameters)"),
    # utility accounts and bills (dashboard/bills_view.py)
    "accounts_bills": ("电力户号与账单", "Utility accounts and bills"),
    "bills_list": ("账单", "Bills"),
    "bills_vs_meters": ("账单与计量表对比", "Bills and meters side by side"),
    "bills_vs_meters_note": (
        "账单覆盖的日期按账单计；计量表之和仅作核对。差值 = 计量表 − 账单。",
        "Billed days count the bill; the meters' sum is a check. Difference = meters − bills.",
    ),
    "provisional_note": (
        "{days} 天为暂估（计量表数据，尚无账单），账单到达后替换。",
        "{days} days are provisional (meter figures, no bill yet) until a bill covers them.",
    ),
    "col_account_id": ("户号", "Account"),
    "col_account_name": ("户名", "Account name"),
    "col_utility": ("供电单位", "Utility"),
    "col_share": ("分摊比例", "Share"),
    "col_period_start": ("账期开始", "Period start"),
    "col_period_end": ("账期结束", "Period end"),
    "col_value": ("电量/用量", "Value"),
    "col_bill_kind": ("估抄/实抄", "Estimated or actual"),
    "col_bill_status": ("状态", "Status"),
    "col_replaced_by_file": ("替换文件", "Replaced by file"),
    "col_month": ("月份", "Month"),
    "col_billed_kwh": ("账单 kWh", "Bills kWh"),
    "col_metered_kwh": ("计量表 kWh", "Meters kWh"),
    "col_difference_kwh": ("差值 kWh", "Difference kWh"),
    "col_difference_pct": ("差值 %", "Difference %"),
    "col_provisional_days": ("暂估天数", "Provisional days"),
    "col_last_bill_end": ("最近账单截止", "Last bill ends"),
    "bill_estimated": ("估抄", "estimated"),
    "bill_actual": ("实抄", "actual"),
    "bill_status_active": ("有效", "in force"),
    "bill_status_superseded": ("已被实抄替换", "superseded by an actual bill"),
    "bill_status_corrected": ("已更正", "corrected"),
    "dq_stale_accounts": (
        "超过 {days} 天没有账单的户号",
        "Accounts without a bill for more than {days} days",
    ),
    "dq_bill_quarantine": ("被隔离的账单（按原因）", "Quarantined bills by reason"),
    "empty_no_stale_accounts": ("所有户号都有近期账单。", "Every account has a recent bill."),
    "empty_no_bill_quarantine": ("没有被隔离的账单。", "No quarantined bills."),
    # login
    "login_title": ("登录", "Sign in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Sign in"),
    # One answer for every failed sign-in (unknown user, wrong password, locked account), so
    # the page never tells whether a user name exists.
    "login_failed": (
        "用户名或密码错误，或登录失败次数过多（请几分钟后再试）。",
        "Wrong username or password, or too many failed sign-ins (try again in a few minutes).",
    ),
    "form_expired": (
        "表单已过期，请重试。",
        "The form has expired; please try again.",
    ),
    "logout_title": ("退出登录", "Sign out"),
    "logout_question": (
        "退出后，该用户在所有浏览器上的登录都将结束。",
        "Signing out ends every session of this user, in every browser.",
    ),
    # accessibility: skip link, page titles
    "skip_to_content": ("跳到主要内容", "Skip to main content"),
    "title_building": ("建筑 {building_id}", "Building {building_id}"),
}

# ag-grid's own words (its overlays and column filter menus; ``localeText``) in Chinese;
# English is ag-grid's default. Keys are ag-grid's.
AG_GRID_ZH: Final[dict[str, str]] = {
    "noRowsToShow": "没有可显示的行",
    "loadingOoo": "加载中…",
    "loadingError": "加载出错",
    "filterOoo": "筛选…",
    "searchOoo": "搜索…",
    "selectAll": "全选",
    "blanks": "空白",
    "equals": "等于",
    "notEqual": "不等于",
    "blank": "为空",
    "notBlank": "不为空",
    "empty": "请选择…",
    "lessThan": "小于",
    "greaterThan": "大于",
    "lessThanOrEqual": "小于或等于",
    "greaterThanOrEqual": "大于或等于",
    "inRange": "介于",
    "inRangeStart": "从",
    "inRangeEnd": "到",
    "contains": "包含",
    "notContains": "不包含",
    "startsWith": "开头是",
    "endsWith": "结尾是",
    "dateFormatOoo": "yyyy-mm-dd",
    "before": "早于",
    "after": "晚于",
    "andCondition": "且",
    "orCondition": "或",
    "applyFilter": "应用",
    "resetFilter": "重置",
    "clearFilter": "清除",
    "cancelFilter": "取消",
    "textFilter": "文本筛选",
    "numberFilter": "数字筛选",
    "dateFilter": "日期筛选",
    "columnFilter": "列筛选",
    "ariaFilterInput": "筛选输入",
    "ariaFilteringOperator": "筛选运算符",
    "ariaFilterValue": "筛选值",
    "ariaFilterFromValue": "筛选起始值",
    "ariaFilterToValue": "筛选结束值",
    "ariaFilterList": "筛选列表",
    "ariaFilterMenuOpen": "打开筛选菜单",
    "ariaMenuColumn": "按 Alt+向下键打开列菜单",
    "ariaColumn": "列",
    "ariaColumnFiltered": "已筛选的列",
    "ariaSortableColumn": "按 Enter 排序",
    "ariaRowSelect": "按空格选择此行",
    "ariaSearch": "搜索",
    "ariaSearchFilterValues": "搜索筛选值",
    "ariaLabelColumnMenu": "列菜单",
    "ariaLabelColumnFilter": "列筛选",
    "ariaLabelDialog": "对话框",
    "ariaLabelTooltip": "提示",
    "page": "页",
    "of": "共",
    "to": "至",
    "more": "更多",
}


def grid_locale(lang: str | None) -> dict[str, str]:
    """ag-grid's ``localeText`` for ``lang`` (empty for English, its default)."""
    return dict(AG_GRID_ZH) if normalise_lang(lang) == "zh" else {}


UNIT_BY_BASIS: Final = {"electricity_kwh": "kWh", "energy_kgce": "kgce"}


def t(key: str, lang: str | None = None, **values: object) -> str:
    """The text ``key`` in ``lang`` (``zh`` or ``en``; anything else means Chinese), with
    ``{placeholders}`` filled from ``values``. An unknown key raises ``KeyError``."""
    zh, en = TEXTS[key]
    text = en if lang == "en" else zh
    return text.format(**values) if values else text


def normalise_lang(lang: object) -> str:
    """``en`` or ``zh``; the stored preference may be missing or garbage."""
    return "en" if lang == "en" else DEFAULT_LANG


def status_label(status: str, lang: str | None) -> str:
    """Localised name of an evaluation status (``within``, ``over_20``, ...)."""
    return t(f"status_{status}", lang)


def consequence(tier: str, lang: str | None, rules: dict[str, object] | None = None) -> str:
    """What follows an over-quota tier (``over``, ``over_20``, ``over_20_repeat``), in words;
    empty for other statuses. The rules' ``[tiers.consequences]`` (English) and
    ``[tiers.consequences_zh]`` (Chinese) give the words when present, so a changed rule
    changes every page; the texts here are the fallback."""
    key = f"consequence_{tier}"
    if key not in TEXTS:
        return ""
    if rules:
        tiers = rules.get("tiers", {})
        table = "consequences" if lang == "en" else "consequences_zh"
        listed = tiers.get(table, {}) if isinstance(tiers, dict) else {}
        if isinstance(listed, dict) and listed.get(tier):
            return str(listed[tier])
    return t(key, lang)


def role_label(role: str, lang: str | None) -> str:
    """Localised name of a user role."""
    return t(f"role_{role}", lang)
