"""Simulate severe COVID-19 on the shipped IL-6 model and print daily serum IL-6, sIL-6R and CRP.

Run:  python examples/simulate_scenario.py
"""

import numpy as np

import il6sim

model = il6sim.load_model("il6")
healthy = il6sim.steady_state(model)
scenario = il6sim.load_scenario("covid_severe", model)

days = np.arange(0, 46)  # t = 0 at infection; symptom onset ~day 9
res = il6sim.simulate(model, t_eval=days * 24.0, initial=healthy,
                      parameters=dict(scenario.parameters), protocol=scenario.protocol)

print(f"{'day':>4} {'free IL-6 (pg/ml)':>18} {'sIL-6R (ng/ml)':>15} {'CRP (mg/l)':>11}")
for d, il6, sil6r, crp in zip(days, res["il6_free_pg_ml"], res["sil6r_total_ng_ml"], res["crp_mg_l"]):
    print(f"{d:4d} {il6:18.2f} {sil6r:15.1f} {crp:11.1f}")
peak = int(np.argmax(res["il6_free_pg_ml"]))
print(f"peak free IL-6 {res['il6_free_pg_ml'][peak]:.1f} pg/ml on day {days[peak]}")
