"""Where every parameter's value comes from, and how far it could plausibly be from it.

One place for the provenance of every scenario key: :data:`SOURCE` gives the published
figure behind a value (linked to its entry in docs/sources.md), or says ``assumption`` with
the reasoning, or that it is a design choice; :data:`RANGES` gives every assumption (and
every calibrated value whose published figure is a range) a plausible ``low`` / ``high``
with a one-line rationale. ``docs/gen_model_tables.py`` writes both into docs/model.md,
``orgsim schema`` carries them on each key (``x-source``, ``x-range``), and ``orgsim
robustness`` varies the parameters over these ranges (:func:`expand` turns a value of a
parameter into ``--set`` overrides of one design).

A range is *absolute* (the parameter's own unit: a probability, days) or *relative* (a factor
on the value in the scenario: for per-segment keys, one factor moves every segment together,
and for a distribution it scales the named moments). ``varies=False`` documents a range that
is not sampled (shares that must sum to 1, calendars); ``requires`` says when a parameter
acts at all (a community factor in a design without a community is not an uncertainty of
that comparison).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .schema import Scenario

__all__ = ["SOURCE", "RANGES", "NOT_RANGED", "Range", "is_assumption", "range_text", "expand",
           "DEFAULT_ROBUSTNESS", "acts_in", "value_of", "check_params", "annotated_schema"]

# ---------------------------------------------------------------- sources (docs/sources.md)

HBR = "HBR 2011 audit (Oldroyd, McElheran & Elkington, 'The Short Life of Online Sales Leads', [S-hbr-2011-leads](sources.md#S-hbr-2011-leads))"
FUNNEL = "B2B SaaS stage benchmarks, First Page Sage/HubSpot: opp -> won 15-30% ([S-fps-hubspot-stages](sources.md#S-fps-hubspot-stages)); SiriusDecisions Demand Waterfall: SQL -> close 20-30% ([S-siriusdecisions-waterfall](sources.md#S-siriusdecisions-waterfall))"
DEALS = "mid-market medians: Bridge Group 2017 ACV $25K, cycle 60 d ([S-bridge-2017-saas-ae](sources.md#S-bridge-2017-saas-ae)); Bridge Group v8.3 $38K ([S-bridge-saas-ae-v83](sources.md#S-bridge-saas-ae-v83)); KBCM surveys ~$28K ([S-kbcm-saas-survey](sources.md#S-kbcm-saas-survey)); SMB and ENT set around them, an assumption ([A-segment-defaults](sources.md#A-segment-defaults))"
RETENTION = "SaaS Capital 2023, NRR and GRR by ACV ([S-saas-capital-2023](sources.md#S-saas-capital-2023)); Recurly churn benchmarks ([S-recurly-churn](sources.md#S-recurly-churn)); Bessemer 5-7%/yr ([S-bessemer-churn](sources.md#S-bessemer-churn)); segment rules of thumb ([S-segment-churn-rules](sources.md#S-segment-churn-rules))"
COSTS = "Glassdoor SDR OTE $77-87K, 2024 ([S-glassdoor-sdr-ote](sources.md#S-glassdoor-sdr-ote)); AE and CSM OTE compilations ([S-ae-csm-ote-compilations](sources.md#S-ae-csm-ote-compilations)); loaded = OTE x 1.25-1.3, an assumption ([A-segment-defaults](sources.md#A-segment-defaults))"
HANDOFF = "relative conversion 0.90 per handoff, an assumption: no published measurement found ([A-handoff-loss](sources.md#A-handoff-loss))"
DESIGN = "design choice (each scenario file's header comment gives its reasoning)"
RAMP = "quoted: SDR ramp about 3 months, AE about 5 months, The Bridge Group's SDR and SaaS AE metrics reports, read second-hand, medium confidence ([S-bridge-ramp-tenure](sources.md#S-bridge-ramp-tenure))"
TENURE = "SDR tenure about 14 months, The Bridge Group, second-hand, low confidence ([S-bridge-ramp-tenure](sources.md#S-bridge-ramp-tenure))"

#: Where each value comes from: a published figure, linked to its entry in docs/sources.md, or
#: "assumption" with the reasoning, or a design choice.
SOURCE: dict[str, str] = {
    "name": "-", "description": "-", "extends": "-", "abstract": "-", "market": "-",
    "simulation.horizon": "assumption: three years, so that customers won after the warmup meet two renewals",
    "simulation.warmup": "assumption: the organization starts empty; half a year fills the queues and the customer base",
    "simulation.reps": "statistics, not a world assumption: 10 replications give paired CIs of a few percent",
    "simulation.seed": "-", "simulation.max_buyers": "a safety limit, not part of the model",
    "simulation.max_customer_years": "a safety limit, not part of the model",
    "market.segments.<segment>.share": "assumption: most B2B SaaS logos are small (60/30/10)",
    "market.segments.<segment>.acv": DEALS,
    "market.segments.<segment>.fit": "assumption: fit is a 0-1 scale with no published counterpart; mean 0.5 makes fit_elasticity neutral on average",
    "market.segments.<segment>.contact_probability": "lead -> MQL 0.30/0.25/0.25: SiriusDecisions Demand Waterfall inquiry -> MQL 10-25% ([S-siriusdecisions-waterfall](sources.md#S-siriusdecisions-waterfall)); B2B SaaS compilations 15-30% ([S-fps-hubspot-stages](sources.md#S-fps-hubspot-stages)); 6sense: 83% of buyers initiate first contact ([S-6sense-buyer-research](sources.md#S-6sense-buyer-research))",
    "market.segments.<segment>.keep_researching_probability": "assumption: a third of those who do not ask come back through nurture",
    "market.segments.<segment>.rep_free_preference": "Gartner press release 2025, '61 percent of B2B buyers prefer a rep-free buying experience' ([S-gartner-2025-rep-free](sources.md#S-gartner-2025-rep-free)); the split 0.75/0.60/0.40 by segment is an assumption",
    "market.segments.<segment>.automation_aversion": "assumption: P(buyer refuses an AI-only interaction) 0.1 SMB, 0.3 ENT, MM 0.2 interpolated ([A-segment-defaults](sources.md#A-segment-defaults)); directionally supported by Gartner 2026 ('69% rely on sales reps to validate AI output', [S-gartner-2026-ai-buyers](sources.md#S-gartner-2026-ai-buyers))",
    "market.segments.<segment>.patience": f"assumption, tuned so that THE MODEL's never-answered share lands near the {HBR} figure of 23%",
    "market.segments.<segment>.research_time": "assumption: 2, 4 and 8 weeks before a hand-raise; 6sense: ~70% of the journey is done before sellers are engaged ([S-6sense-critical-period](sources.md#S-6sense-critical-period))",
    "market.segments.<segment>.stage_conversion": FUNNEL,
    "market.segments.<segment>.stage_conversion.<activity>": FUNNEL + "; demo x proposal x close = 0.29/0.23/0.19 at average fit; discovery 0.55-0.65 from SQL -> opportunity 50-75%",
    "market.segments.<segment>.no_decision_share": "Dixon et al., 'Stop Losing Sales to Customer Indecision', HBR: 40-60% of lost deals are lost to no decision ([S-dixon-no-decision](sources.md#S-dixon-no-decision))",
    "market.segments.<segment>.deliberation_scale": "cycle SMB ~21 d (assumption, [A-segment-defaults](sources.md#A-segment-defaults)), MM ~75 d (Bridge Group 2017: 60-72 d, [S-bridge-2017-saas-ae](sources.md#S-bridge-2017-saas-ae), [S-bridge-2017-inside-ae](sources.md#S-bridge-2017-inside-ae); Gong 84 d, [S-gong-sales-cycle](sources.md#S-gong-sales-cycle)), ENT ~270 d (6sense: ~10 months for complex purchases, [S-6sense-buyer-research](sources.md#S-6sense-buyer-research))",
    "market.segments.<segment>.work_scale": "assumption: larger buying groups (CEB/Gartner 5.4 -> 10.2 people, [S-ceb-buying-group](sources.md#S-ceb-buying-group); Forrester 13, [S-forrester-buying-group](sources.md#S-forrester-buying-group)) need more work per meeting",
    "market.segments.<segment>.time_to_value": "assumption: onboarding to first value SMB 14 d, MM 45 d, ENT 90 d ('first 90 days' practitioner talk, [A-segment-defaults](sources.md#A-segment-defaults))",
    "market.segments.<segment>.ttv_target": "assumption: about twice the typical time to value (SMB), less slack upmarket",
    "market.segments.<segment>.contract_term": "assumption: annual contracts ([A-segment-defaults](sources.md#A-segment-defaults))",
    "market.segments.<segment>.base_churn_annual": RETENTION + ": SMB 2%/month (~22%/yr), MM 10%/yr, ENT 6%/yr",
    "market.segments.<segment>.expansion_probability": RETENTION + ": expansion +12/+13/+17% a year (NRR - GRR by ACV); probability x uplift gives it",
    "market.segments.<segment>.expansion_uplift": RETENTION + ": see expansion_probability",
    "market.segments.<segment>.gross_margin": "software gross margin median 80%, total 76% (Aleph x Benchmarkit 2026, [S-aleph-benchmarkit-2026](sources.md#S-aleph-benchmarkit-2026)); KeyBanc 2021: subscription ~80% ([S-kbcm-saas-survey](sources.md#S-kbcm-saas-survey))",
    "market.channels.<channel>.rate_per_week": "assumption: 150 inquiries a week in all, enough to keep THE MODEL's 24 people busy",
    "market.channels.<channel>.arrivals_at": "none in the default market (for events and validation scenarios)",
    "market.seasonality.months": "none in the default market (a constant rate); a market's own inquiries by month give it",
    "market.seasonality.weekdays": "none in the default market; a market's own inquiries by weekday give it",
    "market.seasonality.start_month": "none in the default market (no seasonality); the month a market's run starts in",
    "market.channels.<channel>.segment_tilt": "assumption: events skew upmarket; other channels bring the market's shares",
    "market.channels.<channel>.segment_tilt.<segment>": "assumption (see segment_tilt)",
    "market.activities.<activity>.kind": "structure of THE MODEL's funnel (Fukuda 2019, [S-fukuda-2019-the-model](sources.md#S-fukuda-2019-the-model))",
    "market.activities.<activity>.work": "assumption: SDR 30-45 min per MQL, 25-40 MQLs a week ([A-segment-defaults](sources.md#A-segment-defaults)); other work contents are assumptions too",
    "market.activities.<activity>.deliberation": "assumption: 2+4+5+5 = 16 days of buyer time for SMB, scaled by deliberation_scale to each segment's cycle",
    "market.activities.<activity>.threshold": "assumption: scoring lets ~95% through, qualification ~80%; Gartner: 44% of MQLs pass as a good fit ([S-gartner-mql-fit](sources.md#S-gartner-mql-fit)) includes losses before qualification",
    "market.journey.acquisition": "THE MODEL (Fukuda 2019): marketing -> inside sales -> field sales stages ([S-fukuda-2019-the-model](sources.md#S-fukuda-2019-the-model))",
    "market.journey.retention": "THE MODEL's customer success: onboarding, check-ins, renewal, upsell ([S-fukuda-2019-the-model](sources.md#S-fukuda-2019-the-model))",
    "market.journey.checkin_interval": "assumption: quarterly business reviews",
    "market.journey.checkin_sla": "assumption: two weeks late counts as neglect",
    "market.journey.max_nurture_rounds": "assumption: one second chance",
    "market.effects.lead_decay.half_life": "'conservative B2B' preset 0.3 + 0.7 x 2^(-t / 60 min), an assumption ([A-lead-decay](sources.md#A-lead-decay)) softer than MIT/InsideSales 2007 (21x lower odds of qualifying at 30 min than at 5 min, [S-mit-insidesales-2007-lrm](sources.md#S-mit-insidesales-2007-lrm)) and HBR 2011 (7x within 1 h, [S-hbr-2011-leads](sources.md#S-hbr-2011-leads))",
    "market.effects.lead_decay.floor": "conservative preset (see half_life); assumption: an enterprise buying group with a named project decays less than a single web inquirer ([A-lead-decay](sources.md#A-lead-decay))",
    "market.effects.rep_free_contact_factor": "assumption: buyers who prefer no rep ask for one 40% less often",
    "market.effects.context_loss_probability": HANDOFF + ": 0.25 x (1 - 0.6) = 0.10 expected loss",
    "market.effects.context_loss_conversion_factor": HANDOFF,
    "market.effects.context_loss_rework_fraction": "assumption: the buyer repeats their story; half the meeting again",
    "market.effects.first_response_handoff_drop": HBR + ": 23% of web leads never followed up",
    "market.effects.fit_elasticity": "assumption: a buyer at fit 1 advances 1.5x as often as one at 0.5",
    "market.effects.nurture_contact_uplift": "assumption: a nurtured buyer is 1.5x as likely to ask (schema default 1: no uplift)",
    "market.effects.ttv_missed_churn_multiplier": "Totango: customers who complete onboarding are 2.5x more likely to renew ([S-totango-onboarding](sources.md#S-totango-onboarding)); vendor CRM analyses 2.4x ([S-vendor-onboarding-touchpoints](sources.md#S-vendor-onboarding-touchpoints)); both second-hand: assumption-grade",
    "market.effects.context_loss_churn_uplift": "assumption; qualitative accounts only (the CSM does not know what was promised, [S-sales-cs-handoff-accounts](sources.md#S-sales-cs-handoff-accounts))",
    "market.effects.neglect_churn_uplift": "assumption; vendor analyses: < 3 touchpoints in 30 days churn 2.4x (low confidence, [S-vendor-onboarding-touchpoints](sources.md#S-vendor-onboarding-touchpoints))",
    "market.effects.generalist_slowdown": "assumption: the specialization efficiency THE MODEL bought; Japanese adopters report 4x reach with inside sales (low confidence, [S-decisense-inside-sales](sources.md#S-decisense-inside-sales))",
    "market.effects.ai_judgement_noise": "assumption: AI qualification effectiveness 0.8 of a human, 0.2 vs 0.15; direction from Gartner 2026: buyers 39 pp less likely to feel understood by gen-AI ([S-gartner-2026-ai-buyers](sources.md#S-gartner-2026-ai-buyers))",
    "market.effects.ltv_max_years": "assumption: caps LTV when churn is near zero",
    "market.finance.discount_rate": "assumption: 0 (undiscounted) by default; 0.08-0.15 a year is a plausible cost of capital for a software company",
    "market.effects.same_unit_context_factor": "assumption: a shared stand-up and pipeline keep 70% of what would be lost",
    "market.effects.team_targets_threshold_shift": "assumption, after the qualitative failure modes of THE MODEL: IS-FS conflict over lead quality, local optimisation ([S-the-model-drawbacks](sources.md#S-the-model-drawbacks))",
    "market.effects.north_star_threshold_shift": "assumption: a shared KPI makes the team stricter about fit",
    "market.effects.community_churn_factor": "assumption (no published figure found)",
    "market.effects.community_referral_factor": "assumption (no published figure found)",
    "market.effects.expansion_at_risk_factor": "assumption (no published figure found; plausible range 0.1-0.8): at-risk customers are about a third as likely to buy more",
    "market.installed_base.segments": "assumption: the default company already has customers ([A-installed-base](sources.md#A-installed-base)); none in the validation scenarios",
    "market.installed_base.segments.<segment>.customers": "assumption: sized like the default company, siloed's 6 CSMs at ~$2.3M ARR each (one CSM per ~$2M ARR: [S-csm-coverage-ratios](sources.md#S-csm-coverage-ratios); [A-installed-base](sources.md#A-installed-base))",
    "market.installed_base.segments.<segment>.arr": "assumption: the segment's ACV and some expansion since signature ([A-installed-base](sources.md#A-installed-base))",
    "market.installed_base.segments.<segment>.tenure": "assumption: a company about four years old, renewal dates spread evenly through the year ([A-installed-base](sources.md#A-installed-base))",
    "market.effects.fit_churn_elasticity": "assumption (no published figure; [A-retention-mechanisms](sources.md#A-retention-mechanisms)): a customer at fit 0.3 churns 1.2x as often as one at 0.5, so the weak deals a lenient gate lets through churn more later",
    "market.effects.fit_expansion_elasticity": "assumption (no published figure; [A-retention-mechanisms](sources.md#A-retention-mechanisms)): a customer at fit 0.3 expands 0.8x as often as one at 0.5",
    "market.effects.continuity_churn_uplift": "assumption; qualitative accounts only (customers repeat their goals to several people, [S-sales-cs-handoff-accounts](sources.md#S-sales-cs-handoff-accounts); [A-retention-mechanisms](sources.md#A-retention-mechanisms))",
    "market.outbound.target_accounts": "assumption",
    "market.outbound.work_per_attempt": "assumption: 15 min per touch (SDRs 50-80 calls and 60-100 emails a day, low confidence, [S-sdr-activity-glossary](sources.md#S-sdr-activity-glossary))",
    "market.outbound.meeting_probability": "assumption from 10-15 meetings booked a week on those activity levels (low confidence, [S-sdr-activity-glossary](sources.md#S-sdr-activity-glossary))",
    "market.outbound.ai_meeting_factor": "vendor paired-email study 2026: meetings 0.7% (AI) vs 1.1% (human) (low confidence, [S-ai-sdr-email-study-2026](sources.md#S-ai-sdr-email-study-2026))",
    "market.outbound.segment_tilt": "assumption: the market's shares", "market.outbound.segment_tilt.<segment>": "assumption",
    "market.referrals.probability_per_renewal": "assumption", "market.referrals.unhealthy_factor": "assumption",
    "market.referrals.research_factor": "assumption: referred buyers arrive half decided",
    "market.referrals.fit_bonus": "assumption: referrers bring buyers like themselves",
    "market.job_costs": COSTS,
    "market.job_costs.<job>": COSTS + "; marketer costed as a CSM: assumption",
    "market.job_ramp_times": RAMP + "; csm and marketer 3 months: assumption",
    "market.job_ramp_times.<job>": RAMP + "; csm and marketer 3 months: assumption",
    "market.marketing_program_cost_annual": "~30% of CAC is marketing (Pacific Crest/KBCM survey, second-hand, [S-kbcm-saas-survey](sources.md#S-kbcm-saas-survey))",
    "market.buyer_hours.days": "assumption: B2B buyers research at work", "market.buyer_hours.open": "assumption",
    "market.buyer_hours.close": "assumption",
    "market.buyer_hours.country": DESIGN + " (none in the shipped market: buyers' own holidays are not modelled)",
    "market.buyer_hours.holidays": DESIGN + " (none in the shipped market)",
    "calendars.<calendar>.country": "design choice: none in the shipped market; a country's public holidays come from the holidays package (its published calendars), not from orgsim",
    "calendars.<calendar>.holidays": DESIGN + " (none in the shipped market)",
    "simulation.start_date": "design choice: the first Monday of 2027; it only places holidays, which the shipped market has none of",
    "market.contact_in_buyer_hours": f"assumption, chosen with the pickup delay to approach the {HBR} figure of 37% answered within an hour",
    "calendars.<calendar>.days": "assumption: a standard working week", "calendars.<calendar>.open": "assumption: 9:00",
    "calendars.<calendar>.close": "assumption: 17:00",
    "roles": DESIGN,
    "roles.<role>.headcount": DESIGN + "; THE MODEL's 3/5/10/6 is sized for the default market (assumption)",
    "roles.<role>.kind": DESIGN, "roles.<role>.calendar": DESIGN + "; AI agents 24/7 is the premise of AI designs",
    "roles.<role>.loaded_cost_annual": COSTS + "; AI agent $5-18K a year (second-hand, [S-ai-sdr-cost-2026](sources.md#S-ai-sdr-cost-2026))",
    "roles.<role>.cost_per_task": "assumption: $2 of usage per AI conversation",
    "roles.<role>.productive_share": "AE 0.35: CSO Insights 2011, 41% of time selling ([S-cso-insights-2011](sources.md#S-cso-insights-2011)), and Pace, 22% ([S-pace-selling-time](sources.md#S-pace-selling-time)); SDR and CSM 0.6, marketing 0.5: assumptions",
    "roles.<role>.generalist": DESIGN, "roles.<role>.judgement_noise": "assumption: a person misjudges fit by 0.15 on a 0-1 scale",
    "roles.<role>.teams": DESIGN, "roles.<role>.team": DESIGN,
    "roles.<role>.pickup_delay": f"human SDR without SLA, median ~4 h with a long tail ({HBR}; Chatpath 2017, [S-chatpath-2017](sources.md#S-chatpath-2017); RevenueHero, [S-revenuehero-demo-requests](sources.md#S-revenuehero-demo-requests)); lognormal 1.5 h / 3 h of working time is an assumption",
    "roles.<role>.discipline": DESIGN + "; serving by predicted value models AI lead scoring (Salesforce State of Sales: propensity-based prioritisation, [S-salesforce-state-of-sales-3](sources.md#S-salesforce-state-of-sales-3))",
    "roles.<role>.scoring_accuracy": "assumption: 0.5 for people, 0.8 for AI scoring",
    "roles.<role>.prospecting_share": DESIGN,
    "roles.<role>.mix": DESIGN + "; who one head stands for, costed at market.job_costs (a pod: 1 SDR + 2 AE + 1 CSM)",
    "roles.<role>.mix.<job>": DESIGN + " (see mix)",
    "roles.<role>.platform_cost_annual": "assumption: $50K a year for a conversational-AI platform and its CRM integration (no published price list; vendors quote from about $20K to $150K)",
    "roles.<role>.operations_cost_annual": "assumption: half an operations person ($150K loaded) tending the agents' prompts, reviews and escalations",
    "roles.<role>.follows_up_every_lead": DESIGN + "; siloed_sla: every MQL gets an owner and an alert, against the leads that were never followed up (" + HBR + ")",
    "roles.<role>.headcount_plan": DESIGN + " (none in the shipped designs: their headcount is constant)",
    "roles.<role>.headcount_plan[].at": DESIGN, "roles.<role>.headcount_plan[].n": DESIGN,
    "roles.<role>.ramp_time": "none: from the role's mix at market.job_ramp_times (" + RAMP + ")",
    "roles.<role>.ramp_start": "assumption: a new hire does a quarter of a ramped person's work at first, rising linearly (planning models ramp from 0-50%)",
    "roles.<role>.attrition_annual": "assumption: 0 in the shipped designs (a constant team); an SDR tenure of about 14 months (" + TENURE + ") would be about 0.58 a year if leaving were memoryless",
    "roles.<role>.vacation_days": "design choice: a fact of the company (its leave policy); 0 in the shipped designs, whose productive shares are shares of the days people work",
    "roles.<role>.hiring": DESIGN + " (none in the shipped designs)",
    "roles.<role>.hiring.above": DESIGN + ": the utilization at which the organization hires (a policy, not a measurement)",
    "roles.<role>.hiring.review": DESIGN + ": a monthly review",
    "roles.<role>.hiring.max_headcount": DESIGN + ": the budget's cap on the role",
    "roles.<role>.time_to_hire": "assumption: two months from a departure to the backfill's first day (posting, interviews, notice period)",
    "routing": DESIGN, "routing.<activity>": DESIGN + "; THE MODEL: Fukuda 2019 ([S-fukuda-2019-the-model](sources.md#S-fukuda-2019-the-model))",
    "routing.<activity>.<segment>": DESIGN + " (hybrid, mini business units)",
    "assists": DESIGN, "assists.<activity>": DESIGN + "; escalator model: working definition ([A-escalator](sources.md#A-escalator)). Only acquisition activities honour an assist (see Limitations)",
    "bridges": DESIGN + "; bridge sales: working definition ([A-bridge-sales](sources.md#A-bridge-sales))",
    "bridges[].sender": DESIGN, "bridges[].receiver": DESIGN,
    "bridges[].context_loss_factor": "working definition: handoff loss 10% -> 2-3% (assumption, [A-bridge-sales](sources.md#A-bridge-sales))",
    "bridges[].sender_work": "working definition: 0.5-1 h of the sending role's time (assumption, [A-bridge-sales](sources.md#A-bridge-sales))",
    "data_integration": DESIGN + "; ai_automated 0.5: the agent writes every conversation to the CRM (assumption)",
    "kpi_alignment": DESIGN, "north_star": DESIGN,
    "community_participation": DESIGN + " (0 in every shipped design)",
    "self_serve": DESIGN + " (plg)",
    "self_serve.trial_probability": "assumption: a little above contact_probability, no rep needed",
    "self_serve.trial_length": "14 days for 62% of products (ChartMogul x ProductLed x Growth Unhinged, Jan 2026, [S-growth-unhinged-2026](sources.md#S-growth-unhinged-2026))",
    "self_serve.activation_probability": "assumption; activation doubles to triples conversion (second-hand, low confidence, [S-pql-compilations](sources.md#S-pql-compilations))",
    "self_serve.paid_if_activated": "no-card trial -> paid 10-25% (OpenView 2024, second-hand, [S-openview-2024-plg](sources.md#S-openview-2024-plg)), 15% (Totango 2012, [S-totango-2012-trials](sources.md#S-totango-2012-trials)): 0.4 x 0.3 + 0.6 x 0.06 ~ 0.16",
    "self_serve.paid_if_not_activated": "see paid_if_activated; freemium and unactivated users convert 2-5% (OpenView, second-hand, [S-openview-2024-plg](sources.md#S-openview-2024-plg))",
    "self_serve.pql_acv_threshold": "assumption",
    "fallback": DESIGN + " (none in the shipped designs)", "fallback.role": DESIGN + " (none in the shipped designs)",
    "fallback.delay": "assumption: a person takes the buyer over the next working day ([A-retention-mechanisms](sources.md#A-retention-mechanisms))",
    "fallback.penalty": "assumption: a buyer who refused a bot is a fifth less likely to engage ([A-retention-mechanisms](sources.md#A-retention-mechanisms); direction from [S-gartner-2026-ai-buyers](sources.md#S-gartner-2026-ai-buyers))",
    "transition": DESIGN + " (reorg_to_pods, reorg_to_ai)", "transition.from_design": DESIGN,
    "transition.at": DESIGN,
    "transition.one_off_cost": "assumption: a reorganization project's consulting, training and lost management time; each shipped reorganization states its own in its file",
    "transition.reramp_start": "assumption: a person moved into a new role keeps their product and market knowledge but not their new accounts and new work: 70% at first",
    "transition.reramp_time": "assumption: about two months to full productivity in the new role (shorter than a new hire's ramp; territory changes are reported to cost a month of lost calls or more, and to take 12-16 weeks end to end)",
    "self_serve.pql_entry": "design choice: PQL -> paid 15-35% with sales assist (second-hand, low confidence, [S-pql-compilations](sources.md#S-pql-compilations))",
}


@dataclass(frozen=True)
class Range:
    """A plausible range: ``low`` / ``high`` (absolute, or factors when ``relative``), and why."""

    low: float
    high: float
    why: str
    relative: bool = False
    varies: bool = True
    #: For a distribution: the moments a relative range scales.
    moments: tuple[str, ...] = ("mean", "sd")
    #: When the parameter acts at all in a design (None: always).
    requires: Callable[[Scenario], bool] | None = None
    integer: bool = False
    #: For a ``roles.<role>`` path: only roles of this kind ("ai", "human"); None: every role.
    role_kind: str | None = None


def _community(scn: Scenario) -> bool:
    return scn.community_participation > 0


def _units(scn: Scenario) -> bool:
    return any(r.team is not None for r in scn.roles.values())


def _prospecting(scn: Scenario) -> bool:
    return any(r.prospecting_share > 0 for r in scn.roles.values())


def _ai(scn: Scenario) -> bool:
    return any(r.kind == "ai" for r in scn.roles.values())


def _generalists(scn: Scenario) -> bool:
    return any(r.generalist for r in scn.roles.values())


def _north_star(scn: Scenario) -> bool:
    return scn.kpi_alignment == "north_star"


def _team_targets(scn: Scenario) -> bool:
    return scn.kpi_alignment == "team_targets"


def _self_serve(scn: Scenario) -> bool:
    return scn.self_serve is not None


def _bridges(scn: Scenario) -> bool:
    return bool(scn.bridges)


def _staffing_changes(scn: Scenario) -> bool:
    return any(r.capacity_changes for r in scn.roles.values())


def _fallback(scn: Scenario) -> bool:
    return scn.fallback is not None


def _transition(scn: Scenario) -> bool:
    return scn.transition is not None


_H = 1 / 24  # an hour, in days
R = Range

#: Plausible ranges, by documented key path (the paths of :data:`SOURCE`).
RANGES: dict[str, Range] = {
    # ------------------------------------------------------------ simulation (not sampled)
    "simulation.horizon": R(2 * 365, 5 * 365, "two to five years: long enough for one to four renewal cycles", varies=False),
    "simulation.warmup": R(91, 365, "a quarter to a year: the queues fill in weeks, the customer base in months", varies=False),
    # ------------------------------------------------------------ segments (one factor moves every segment)
    "market.segments.<segment>.share": R(0.8, 1.2, "segment mix of a B2B SaaS base; shares must sum to 1, so change them with --set", relative=True, varies=False),
    "market.segments.<segment>.acv": R(0.7, 1.3, "the published mid-market medians span $25-38K (about -20% / +30% of $30K)", relative=True),
    "market.segments.<segment>.fit": R(0.8, 1.2, "fit has no published scale; +-20% of its mean keeps it a 0-1 score", relative=True, moments=("mean",)),
    "market.segments.<segment>.contact_probability": R(0.6, 1.2, "inquiry -> MQL is 10-30% in the published waterfalls", relative=True),
    "market.segments.<segment>.keep_researching_probability": R(0.5, 1.5, "no published figure: a sixth to a half of those who do not ask return", relative=True),
    "market.segments.<segment>.rep_free_preference": R(0.8, 1.2, "Gartner's 61% is one survey; the split by segment is a guess", relative=True),
    "market.segments.<segment>.automation_aversion": R(0.5, 2.0, "no measurement: from half to twice the default (SMB 5-20%, ENT 15-60%)", relative=True, requires=_ai),
    "market.segments.<segment>.patience": R(0.5, 2.0, "tuned to HBR's 23% never answered; half to twice as patient fits 15-30%", relative=True),
    "market.segments.<segment>.research_time": R(0.5, 2.0, "weeks of self-directed research vary by category and buying group", relative=True),
    "market.segments.<segment>.stage_conversion": R(0.85, 1.15, "opp -> won 15-30% in the published benchmarks: about +-15% per stage", relative=True),
    "market.segments.<segment>.stage_conversion.<activity>": R(0.85, 1.15, "see stage_conversion (one factor for every stage and segment)", relative=True),
    "market.segments.<segment>.no_decision_share": R(0.8, 1.2, "Dixon et al.: 40-60% of lost deals", relative=True),
    "market.segments.<segment>.deliberation_scale": R(0.8, 1.2, "mid-market cycles of 60-84 days (Bridge Group, Gong) around 75", relative=True),
    "market.segments.<segment>.work_scale": R(0.7, 1.5, "bigger buying groups need more work; how much more is unmeasured", relative=True),
    "market.segments.<segment>.time_to_value": R(0.7, 1.5, "practitioner talk only; onboarding overruns are more common than early finishes", relative=True),
    "market.segments.<segment>.ttv_target": R(0.7, 1.5, "a target set by the vendor: tighter or looser by a third", relative=True),
    "market.segments.<segment>.contract_term": R(1.0, 2.0, "annual by default; multi-year terms are common upmarket", relative=True, varies=False),
    "market.segments.<segment>.base_churn_annual": R(0.7, 1.3, "SaaS Capital and Recurly medians spread about +-30% by ACV band", relative=True),
    "market.segments.<segment>.expansion_probability": R(0.7, 1.3, "NRR - GRR of 10-20 points by ACV band (SaaS Capital 2023)", relative=True),
    "market.segments.<segment>.expansion_uplift": R(0.7, 1.3, "see expansion_probability", relative=True),
    "market.segments.<segment>.gross_margin": R(0.9, 1.05, "software margin median 80%, total 76% (Aleph x Benchmarkit)", relative=True),
    # ------------------------------------------------------------ channels and activities
    "market.channels.<channel>.rate_per_week": R(0.7, 1.3, "inquiry volume is the market's size: +-30% keeps THE MODEL's team loaded but not swamped", relative=True),
    "market.channels.<channel>.segment_tilt": R(0.67, 1.5, "how strongly a channel skews is not measured", relative=True,
                                                 varies=False),
    "market.channels.<channel>.segment_tilt.<segment>": R(0.67, 1.5, "how strongly a channel skews is not measured",
                                                          relative=True),
    "market.activities.<activity>.work": R(0.7, 1.5, "SDR 30-45 min per MQL; other work contents are estimates that run long more often than short", relative=True),
    "market.activities.<activity>.deliberation": R(0.7, 1.3, "scaled to the published cycle lengths, which spread about +-30%", relative=True),
    "market.activities.<activity>.threshold": R(0.75, 1.25, "how strict scoring and qualification are: Gartner's 44% of MQLs fit is one figure", relative=True),
    "market.journey.checkin_interval": R(0.5, 1.0, "quarterly reviews by default; monthly for high-touch accounts", relative=True),
    "market.journey.checkin_sla": R(0.5, 2.0, "one to four weeks late counts as neglect", relative=True),
    "market.journey.max_nurture_rounds": R(0, 2, "no second chance, up to two", integer=True, varies=False),
    # ------------------------------------------------------------ effects
    "market.effects.lead_decay.half_life": R(15 / 1440, 4 * _H, "MIT/InsideSales and HBR imply minutes; an enterprise buying group holds for hours"),
    "market.effects.lead_decay.floor": R(0.1, 0.6, "the share still engaged a day later: a web inquirer (low) to a named project (high)"),
    "market.effects.rep_free_contact_factor": R(0.3, 0.9, "no measurement: rep-free buyers ask 10-70% less often"),
    "market.effects.context_loss_probability": R(0.0, 0.5, "no measurement of what a handoff loses: none to one handoff in two"),
    "market.effects.context_loss_conversion_factor": R(0.4, 1.0, "a lost context costs the buyer's trust: not at all to 60% of their next step"),
    "market.effects.context_loss_rework_fraction": R(0.2, 1.0, "the buyer retells a fifth to all of their story"),
    "market.effects.first_response_handoff_drop": R(0.0, 0.23, "HBR 2011: 23% never answered in all, so at most that is lost in the handoff itself"),
    "market.effects.fit_elasticity": R(0.5, 2.0, "a fit buyer advances 1.25-2x as often as an average one"),
    "market.effects.nurture_contact_uplift": R(1.0, 2.0, "no uplift to twice as likely to ask after a nurture touch"),
    "market.effects.ttv_missed_churn_multiplier": R(1.5, 2.5, "Totango 2.5x and vendor 2.4x, both second-hand: 1.5-2.5"),
    "market.effects.context_loss_churn_uplift": R(0.0, 0.3, "qualitative accounts only: none to +30% churn per lost context"),
    "market.effects.neglect_churn_uplift": R(0.0, 0.4, "vendor analyses (low confidence): none to +40% churn per neglected check-in"),
    "market.effects.generalist_slowdown": R(1.0, 1.3, "specialists as fast as generalists up to 30% faster", requires=_generalists),
    "market.effects.ai_judgement_noise": R(0.15, 0.35, "as good as a person (0.15) to much worse; Gartner 2026 points to worse", requires=_ai),
    "market.effects.ltv_max_years": R(5, 15, "the cap on lifetime used by investors' LTV rules of thumb"),
    "market.finance.discount_rate": R(0.0, 0.15, "undiscounted to a software company's cost of capital", varies=False),
    "market.effects.same_unit_context_factor": R(0.1, 0.6, "a shared stand-up keeps 40-90% of what a handoff would lose", requires=_units),
    "market.effects.team_targets_threshold_shift": R(-0.2, 0.0, "separate targets push weak leads downstream: not at all to twice the default", requires=_team_targets),
    "market.effects.north_star_threshold_shift": R(0.0, 0.1, "a shared KPI makes the bar stricter: not at all to twice the default", requires=_north_star),
    "market.effects.community_churn_factor": R(0.6, 1.0, "no published figure: community members churn 0-40% less", requires=_community),
    "market.effects.community_referral_factor": R(1.0, 2.0, "no published figure: members refer as often to twice as often", requires=_community),
    "market.effects.expansion_at_risk_factor": R(0.1, 0.8, "no published figure: at-risk customers buy more a tenth to most as often"),
    "market.effects.fit_churn_elasticity": R(0.0, 2.0, "no published figure: fit does not matter to churn, to a customer at fit 0.3 churning 1.4x"),
    "market.effects.fit_expansion_elasticity": R(0.0, 2.0, "no published figure: fit does not matter to expansion, to a customer at fit 0.3 expanding 0.6x"),
    "market.effects.continuity_churn_uplift": R(0.0, 0.3, "qualitative accounts only: none to +30% churn per extra owner"),
    # ------------------------------------------------------------ installed base
    "market.installed_base.segments": R(0.5, 2.0, "the book's size: see its counts, ARR and tenure", relative=True, varies=False),
    "market.installed_base.segments.<segment>.customers": R(0.5, 2.0, "$0.5-8M ARR per CSM in the guideposts: half to twice the book for the same team", relative=True, integer=True),
    "market.installed_base.segments.<segment>.arr": R(0.8, 1.3, "ACV at signature to a few years of expansion", relative=True),
    "market.installed_base.segments.<segment>.tenure": R(0.5, 2.0, "a company two to eight years old (longest tenure)", relative=True, moments=("high",)),
    # ------------------------------------------------------------ outbound, referrals, buyer hours
    "market.outbound.target_accounts": R(0.5, 2.0, "the size of the addressable list: half to twice", relative=True, requires=_prospecting),
    "market.outbound.work_per_attempt": R(0.7, 1.5, "10-20 minutes per touch", relative=True, requires=_prospecting),
    "market.outbound.meeting_probability": R(0.5, 1.5, "10-15 meetings a week on 50-100 touches a day (low confidence)", relative=True, requires=_prospecting),
    "market.outbound.ai_meeting_factor": R(0.4, 1.0, "one vendor study, 0.7% vs 1.1% (0.64): as good as people to much worse", requires=_prospecting),
    "market.outbound.segment_tilt": R(0.67, 1.5, "whom outbound targets is a choice; no published mix", relative=True,
                                      varies=False),
    "market.outbound.segment_tilt.<segment>": R(0.67, 1.5, "whom outbound targets is a choice; no published mix",
                                                relative=True),
    "market.referrals.probability_per_renewal": R(0.5, 2.0, "no published figure: half to twice as many referrals", relative=True),
    "market.referrals.unhealthy_factor": R(0.5, 1.5, "no published figure", relative=True),
    "market.referrals.research_factor": R(0.5, 1.5, "referred buyers research a quarter to three quarters as long", relative=True),
    "market.referrals.fit_bonus": R(0.5, 1.5, "no published figure", relative=True),
    "market.job_costs": R(0.9, 1.15, "OTE surveys spread about +-10%, and loaded = OTE x 1.25-1.3", relative=True, varies=False),
    "market.job_costs.<job>": R(0.9, 1.15, "see job_costs (one factor for every job: the designs employ the same people)", relative=True),
    "market.marketing_program_cost_annual": R(0.8, 1.2, "~30% of S&M is marketing, second-hand", relative=True),
    "market.buyer_hours.open": R(7 * _H, 9 * _H, "buyers start their day between 7:00 and 9:00", varies=False),
    "market.buyer_hours.close": R(17 * _H, 19 * _H, "and end it between 17:00 and 19:00", varies=False),
    "market.contact_in_buyer_hours": R(0.6, 0.95, "most hand-raises come in working hours: 60-95%"),
    "calendars.<calendar>.open": R(8 * _H, 10 * _H, "a working day starts between 8:00 and 10:00", varies=False),
    "calendars.<calendar>.close": R(16 * _H, 19 * _H, "and ends between 16:00 and 19:00", varies=False),
    # ------------------------------------------------------------ roles (the designs that have them)
    "roles.<role>.loaded_cost_annual": R(0.4, 1.5, "AI agents $5-18K a year (second-hand); people are costed from market.job_costs", relative=True, requires=_ai, role_kind="ai"),
    "roles.<role>.cost_per_task": R(0.5, 10.0, "usage fees of $0.5-10 per AI conversation, by model and length", requires=_ai, role_kind="ai"),
    "roles.<role>.platform_cost_annual": R(20_000, 150_000, "vendors quote from about $20K to $150K a year", requires=_ai, role_kind="ai"),
    "roles.<role>.operations_cost_annual": R(37_500, 150_000, "a quarter of an operations person to a whole one", requires=_ai, role_kind="ai"),
    "roles.<role>.productive_share": R(0.8, 1.2, "AE selling time 22-41% in the published surveys around 0.35", relative=True),
    "roles.<role>.judgement_noise": R(0.10, 0.25, "how well a person judges fit on a 0-1 scale: no measurement"),
    "roles.<role>.pickup_delay": R(0.5, 2.0, "HBR and Chatpath: medians of hours with a long tail; half to twice the default", relative=True),
    "roles.<role>.scoring_accuracy": R(0.8, 1.2, "how well scoring predicts deal value: no measurement", relative=True),
    "roles.<role>.ramp_start": R(0.1, 0.5, "planning models start a hire at 0-50% of full productivity", requires=_staffing_changes),
    "roles.<role>.attrition_annual": R(0.0, 0.6, "none to an SDR team's turnover (tenure about 14 months, second-hand)", varies=False),
    "roles.<role>.time_to_hire": R(30.0, 120.0, "one to four months from a departure to the backfill's first day", requires=_staffing_changes),
    "market.job_ramp_times": R(0.7, 1.5, "see job_ramp_times.<job>", relative=True, varies=False),
    "market.job_ramp_times.<job>": R(0.7, 1.5, "SDR 2-4 months, AE 4-7 months around the quoted 3 and 5", relative=True, requires=_staffing_changes),
    "bridges[].context_loss_factor": R(0.05, 0.4, "a joint meeting keeps most of the context: 60-95%", requires=_bridges),
    "bridges[].sender_work": R(0.5 * _H, 1.0 * _H, "0.5-1 h of the sender's time", requires=_bridges),
    "transition.one_off_cost": R(0.5, 2.0, "no measurement: half to twice the stated project cost", relative=True,
                                 requires=_transition),
    "transition.reramp_start": R(0.5, 0.9, "no measurement: from half to nine tenths of a ramped person's output",
                                 requires=_transition),
    "transition.reramp_time": R(30.0, 120.0, "no measurement: one to four months in the new role", requires=_transition),
    "fallback.delay": R(1 / 24, 3.0, "from an hour (a live escalation) to three days (a ticket)", requires=_fallback),
    "fallback.penalty": R(0.5, 1.0, "no measurement: from no cooling to half as likely to engage", requires=_fallback),
    "self_serve.trial_probability": R(0.7, 1.3, "a little above contact_probability: +-30%", relative=True, requires=_self_serve),
    "self_serve.activation_probability": R(0.25, 0.6, "activation rates of 20-60% reported second-hand", requires=_self_serve),
    "self_serve.paid_if_activated": R(0.2, 0.45, "no-card trials convert 10-25% overall (OpenView, Totango)", requires=_self_serve),
    "self_serve.paid_if_not_activated": R(0.02, 0.1, "unactivated users convert 2-5% (OpenView, second-hand)", requires=_self_serve),
    "self_serve.pql_acv_threshold": R(0.5, 2.0, "where a vendor draws the line: half to twice", relative=True, requires=_self_serve),
}

#: Assumptions that are not numbers (lists and names): they have no low / high.
NOT_RANGED: dict[str, str] = {
    "market.buyer_hours.days": "a list of weekdays",
    "calendars.<calendar>.days": "a list of weekdays",
}

#: The parameters ``orgsim robustness`` varies when ``--params`` is not given: every sampled
#: assumption of the model's effects and its buyers' reactions to them, and the AI costs.
DEFAULT_ROBUSTNESS: tuple[str, ...] = (
    "market.effects.lead_decay.half_life", "market.effects.lead_decay.floor",
    "market.effects.context_loss_probability", "market.effects.context_loss_conversion_factor",
    "market.effects.context_loss_rework_fraction", "market.effects.first_response_handoff_drop",
    "market.effects.fit_elasticity", "market.effects.context_loss_churn_uplift",
    "market.effects.neglect_churn_uplift", "market.effects.generalist_slowdown",
    "market.effects.ai_judgement_noise", "market.effects.team_targets_threshold_shift",
    "market.effects.north_star_threshold_shift", "market.effects.ttv_missed_churn_multiplier",
    "market.effects.same_unit_context_factor", "market.effects.community_churn_factor",
    "market.effects.community_referral_factor", "market.effects.expansion_at_risk_factor",
    "market.segments.<segment>.automation_aversion", "market.segments.<segment>.patience",
    "roles.<role>.pickup_delay", "roles.<role>.cost_per_task", "roles.<role>.platform_cost_annual",
    "roles.<role>.operations_cost_annual",
)


def is_assumption(path: str) -> bool:
    """True when the documented source of ``path`` says it is an assumption (not a design choice)."""
    text = SOURCE.get(path, "")
    return "assumption" in text.lower() and not text.startswith((DESIGN, "statistics", "design choice"))


def range_text(path: str, fmt: Callable[[float], str] = lambda x: f"{x:g}") -> str:
    """``0 - 0.23: HBR 2011: ...`` (``x0.5 - x2`` for a relative range); empty if none."""
    r = RANGES.get(path)
    if r is None:
        return ""
    span = f"x{r.low:g} - x{r.high:g}" if r.relative else f"{fmt(r.low)} - {fmt(r.high)}"
    return f"{span}: {r.why}" + ("" if r.varies else " (not sampled)")


# ---------------------------------------------------------------- concrete keys


def _leaves(doc: Any, parts: list[str], prefix: str) -> list[tuple[str, Any]]:
    """The concrete (key, value) pairs a documented path names in a resolved scenario."""
    if not parts:
        return [(prefix, doc)]
    head, rest = parts[0], parts[1:]
    if head.startswith("<"):
        if not isinstance(doc, dict):
            return []
        return [kv for k, v in doc.items() for kv in _leaves(v, rest, f"{prefix}.{k}" if prefix else k)]
    if not isinstance(doc, dict) or head not in doc:
        return []
    return _leaves(doc[head], rest, f"{prefix}.{head}" if prefix else head)


def _named(path: str, scn: Scenario) -> list[tuple[str, Any]]:
    """The concrete keys ``path`` names in ``scn`` (for a role path, of the range's role kind)."""
    found = _leaves(scn.model_dump(mode="json"), path.split("."), "")
    r = RANGES.get(path)
    if r is not None and r.role_kind is not None and path.startswith("roles.<role>."):
        found = [(k, v) for k, v in found if scn.roles[k.split(".")[1]].kind == r.role_kind]
    return [(k, v) for k, v in found if v is not None]


def acts_in(path: str, scn: Scenario) -> bool:
    """Does ``path`` name a value that acts in ``scn`` (present, and its ``requires`` met)?"""
    r = RANGES.get(path)
    if r is not None and r.requires is not None and not r.requires(scn):
        return False
    return bool(_named(path, scn))


def value_of(path: str, scn: Scenario) -> float | None:
    """The base value of an absolute parameter (its mean over the keys it names), 1.0 for a
    relative one; None when it does not act in ``scn``."""
    r = RANGES[path]
    if r.relative:
        return 1.0
    found = [v for _, v in _named(path, scn) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(found) / len(found) if found else None


def _clip(x: float, key: str, scn: Scenario) -> float:
    from .sensitivity import schema_bounds

    lo, lo_strict, hi, hi_strict = schema_bounds(scn, key)
    if lo is not None and x < lo:
        x = lo
    if hi is not None and x > hi:
        x = hi
    if lo_strict and lo is not None and x <= lo:
        x = lo + 1e-9
    if hi_strict and hi is not None and x >= hi:
        x = hi - 1e-9
    return x


def expand(path: str, value: float, scn: Scenario) -> dict[str, Any]:
    """``--set`` overrides putting parameter ``path`` at ``value`` in design ``scn``.

    An absolute range sets every key the path names to ``value``; a relative one multiplies
    each (a distribution's named moments) by it. Values are clipped to the schema's bounds;
    a parameter that does not act in ``scn`` gives no override.
    """
    r = RANGES[path]
    if not acts_in(path, scn):
        return {}
    out: dict[str, Any] = {}
    for key, base in _named(path, scn):
        if isinstance(base, dict) and "dist" in base:
            moved = dict(base)
            for m in r.moments:
                if isinstance(base.get(m), (int, float)):
                    moved[m] = float(base[m]) * value if r.relative else value
            out[key] = moved
        elif isinstance(base, (int, float)) and not isinstance(base, bool):
            x = float(base) * value if r.relative else float(value)
            x = _clip(x, key, scn)
            out[key] = round(x) if r.integer else x
    return out


def check_params(params: Sequence[str]) -> list[str]:
    """The parameters, or a ScenarioError naming those with no sampled range (with a suggestion)."""
    import difflib

    from .scenario import Problem, ScenarioError

    problems = []
    sampled = [p for p, r in RANGES.items() if r.varies]
    for p in params:
        if p in RANGES and RANGES[p].varies:
            continue
        close = difflib.get_close_matches(p, sampled, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        why = "its range is not sampled" if p in RANGES else "no plausible range is documented for it"
        problems.append(Problem("--params", None, p, f"cannot vary this parameter: {why}{hint}"))
    if problems:
        raise ScenarioError(problems)
    return list(dict.fromkeys(params))



#: JSON Schema definitions and the documented path their properties sit at.
_DEF_PATHS = {"Scenario": "", "Simulation": "simulation.", "Market": "market.", "Segment": "market.segments.<segment>.",
              "Channel": "market.channels.<channel>.", "Seasonality": "market.seasonality.", "Activity": "market.activities.<activity>.",
              "Journey": "market.journey.", "Effects": "market.effects.", "LeadDecay": "market.effects.lead_decay.",
              "Outbound": "market.outbound.", "Referrals": "market.referrals.", "Finance": "market.finance.",
              "InstalledSegment": "market.installed_base.segments.<segment>.",
              "Role": "roles.<role>.", "HeadcountStep": "roles.<role>.headcount_plan[].", "Bridge": "bridges[].", "SelfServe": "self_serve.", "Fallback": "fallback."}


def annotated_schema() -> dict[str, Any]:
    """The scenario JSON Schema, each property carrying ``x-source`` and, where one is
    documented, ``x-range`` (``low``, ``high``, ``relative``, ``sampled``, ``why``)."""
    schema = Scenario.model_json_schema()
    defs = schema.get("$defs", {})
    for name, prefix in _DEF_PATHS.items():
        node = schema if name == "Scenario" else defs.get(name)
        for prop, spec in (node or {}).get("properties", {}).items():
            path = prefix + prop
            if path in SOURCE:
                spec["x-source"] = SOURCE[path]
            r = RANGES.get(path)
            if r is not None:
                spec["x-range"] = {"low": r.low, "high": r.high, "relative": r.relative, "sampled": r.varies,
                                   "why": r.why}
    return schema
