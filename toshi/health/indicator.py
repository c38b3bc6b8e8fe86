"""The risk indicator: the metabolic-syndrome criteria of Japan's specific health check-ups (特定健診,
the 2005 criteria of the Japanese Society of Internal Medicine and others), computed from one
check-up record (`HealthCheckup`).

    waist ≥ 85 cm (men) / ≥ 90 cm (women), and how many of
      blood pressure   systolic ≥ 130 or diastolic ≥ 85 mmHg
      blood glucose    fasting ≥ 110 mg/dL
      lipids           triglycerides ≥ 150 mg/dL or HDL cholesterol < 40 mg/dL
    level: "metabolicSyndrome" (waist and 2 or more), "preliminary" (waist and 1: 予備群),
           "none" (otherwise); `factors` names what counted.

It is an indicator for the resident and their doctor, not a diagnosis; a record missing a
measurement gets no indicator (the reason is given)."""

from __future__ import annotations

PURPOSE = "health-linkage"
SEX = ("male", "female")
DECLARATIONS = [
    {"id": "health-checkups", "type": "HealthCheckup", "subject": "resident", "entityPersonal": True,
     "attributes": {"resident": "personal", "sex": "personal", "checkedOn": "personal", "waist": "sensitive",
                    "systolic": "sensitive", "diastolic": "sensitive", "fastingGlucose": "sensitive",
                    "triglycerides": "sensitive", "hdl": "sensitive"}},
    {"id": "health-indicators", "type": "HealthRiskIndicator", "subject": "resident", "entityPersonal": True,
     "attributes": {"resident": "personal", "checkup": "personal", "level": "sensitive", "factors": "sensitive",
                    "reason": "sensitive", "computedAt": "personal"}},
]
MEASURES = ("waist", "systolic", "diastolic", "fastingGlucose", "triglycerides", "hdl")


def indicator(record: dict) -> dict:
    """{"level", "factors"} for a check-up's values, or {"level": None, "reason"} when it cannot say."""
    sex = record.get("sex")
    if sex not in SEX:
        return {"level": None, "reason": "sex must be male or female (the waist criterion differs)"}
    missing = [m for m in MEASURES if isinstance(record.get(m), bool) or not isinstance(record.get(m), int | float)]
    if missing:
        return {"level": None, "reason": f"missing measurements: {', '.join(missing)}"}
    factors = []
    if record["systolic"] >= 130 or record["diastolic"] >= 85:
        factors.append("bloodPressure")
    if record["fastingGlucose"] >= 110:
        factors.append("bloodGlucose")
    if record["triglycerides"] >= 150 or record["hdl"] < 40:
        factors.append("lipids")
    waist = record["waist"] >= (85 if sex == "male" else 90)
    level = "none" if not waist else "metabolicSyndrome" if len(factors) >= 2 else \
        "preliminary" if factors else "none"
    return {"level": level, "factors": (["waist"] + factors) if waist else factors}
