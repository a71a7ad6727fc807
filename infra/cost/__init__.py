"""Switchboard's cost model: what a deployed stage costs a month, per integration and in total.

* :mod:`infra.cost.prices` - every AWS price used, with its date, tier and source;
* :mod:`infra.cost.inventory` - what a stage deploys, counted in its synthesized templates;
* :mod:`infra.cost.measured` - the per-event figures ``make bench`` measured (``benchmarks/cost.py``);
* :mod:`infra.cost.model` - line items, per event, fixed and by volume, priced;
* :mod:`infra.cost.render` - the table ``switchboard cost`` prints, ``docs/cost.md``, JSON.
"""
