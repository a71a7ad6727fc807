"""RetrieveOrder, offline, and the orders behind every payment: the orders part of the Square stand-in.

``GET /v2/orders/{order_id}`` answers ``{"order": {...}}``: line items (with the catalog variation
they sold), taxes (cakes carry 20 % VAT included in the price), tenders once a payment completes it,
and the refunds recorded against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .catalog import CatalogApi, CatalogEntry
from .seed import SeedLine
from .wire import money_json, not_found_error

__all__ = ["OrdersApi"]


class OrdersApi(CatalogApi):
    """Orders by id, built from catalog variations; a completed payment settles its order."""

    #: Order id -> order, in Square's shape.
    orders: dict[str, dict[str, Any]]

    def _reset_orders(self) -> None:
        self.orders = {}

    def _order_json(
        self,
        order_id: str,
        location_id: str,
        lines: Sequence[tuple[CatalogEntry | None, SeedLine]],
        currency: str,
        created: float,
    ) -> dict[str, Any]:
        """An order in Square's shape. Cakes carry 20 % VAT, included in the price (UK food is zero-rated)."""
        vat_uid = "vat-standard"
        items: list[dict[str, Any]] = []
        total = tax_total = 0
        for n, (variation, line) in enumerate(lines):
            money = line.total
            item: dict[str, Any] = {
                "uid": f"line-{n + 1}",
                "name": self.catalog[variation.parent_id].data["name"]
                if variation and variation.parent_id
                else line.sku,
                "quantity": line.quantity,
                "item_type": "ITEM",
                "base_price_money": money_json(line.price, currency),
                "variation_total_price_money": money_json(money, currency),
                "gross_sales_money": money_json(money, currency),
                "total_discount_money": money_json(0, currency),
                "total_money": money_json(money, currency),
            }
            if variation is not None:
                item["catalog_object_id"] = variation.id
                item["catalog_version"] = variation.version
                item["variation_name"] = variation.data["name"]
            tax = 0
            if line.sku.startswith("CAKE-"):
                tax = int((Decimal(money) * 20 / 120).to_integral_value(rounding=ROUND_HALF_UP))
                item["applied_taxes"] = [
                    {
                        "uid": f"line-{n + 1}-vat",
                        "tax_uid": vat_uid,
                        "applied_money": money_json(tax, currency),
                    }
                ]
            item["total_tax_money"] = money_json(tax, currency)
            items.append(item)
            total += money
            tax_total += tax
        order: dict[str, Any] = {
            "id": order_id,
            "location_id": location_id,
            "source": {"name": "Square Point of Sale"},
            "line_items": items,
            "net_amounts": {
                "total_money": money_json(total, currency),
                "tax_money": money_json(tax_total, currency),
                "discount_money": money_json(0, currency),
                "tip_money": money_json(0, currency),
                "service_charge_money": money_json(0, currency),
            },
            "total_money": money_json(total, currency),
            "total_tax_money": money_json(tax_total, currency),
            "total_discount_money": money_json(0, currency),
            "total_tip_money": money_json(0, currency),
            "total_service_charge_money": money_json(0, currency),
            "state": "OPEN",
            "version": 1,
            "created_at": iso_ms(created),
            "updated_at": iso_ms(created),
        }
        if tax_total:
            order["taxes"] = [
                {
                    "uid": vat_uid,
                    "name": "VAT (standard rate)",
                    "percentage": "20",
                    "type": "INCLUSIVE",
                    "scope": "LINE_ITEM",
                    "applied_money": money_json(tax_total, currency),
                }
            ]
        return order

    def _settle_order(self, order: dict[str, Any], payment: Mapping[str, Any]) -> None:
        """A completed payment closes its order with a tender (whose id is the payment id, as Square's is)."""
        state = {"COMPLETED": "COMPLETED", "CANCELED": "CANCELED", "FAILED": "OPEN"}.get(
            payment["status"], "OPEN"
        )
        order["state"] = state
        if state != "COMPLETED":
            return
        tender: dict[str, Any] = {
            "id": payment["id"],
            "location_id": payment["location_id"],
            "transaction_id": order["id"],
            "created_at": payment["created_at"],
            "amount_money": payment["amount_money"],
            "type": {"CARD": "CARD", "CASH": "CASH"}.get(payment["source_type"], "OTHER"),
            "payment_id": payment["id"],
        }
        if "tip_money" in payment:
            tender["tip_money"] = payment["tip_money"]
            order["total_tip_money"] = payment["tip_money"]
            order["net_amounts"]["tip_money"] = payment["tip_money"]
            currency = payment["tip_money"]["currency"]
            with_tip = order["total_money"]["amount"] + payment["tip_money"]["amount"]
            order["total_money"] = order["net_amounts"]["total_money"] = money_json(with_tip, currency)
        if "card_details" in payment:
            details = payment["card_details"]
            tender["card_details"] = {
                "status": details["status"],
                "card": details["card"],
                "entry_method": details["entry_method"],
            }
        if "cash_details" in payment:
            cash = payment["cash_details"]
            tender["cash_details"] = {
                "buyer_tendered_money": cash["buyer_supplied_money"],
                "change_back_money": cash["change_back_money"],
            }
        order["tenders"] = [tender]
        order["closed_at"] = payment["updated_at"]
        order["updated_at"] = payment["updated_at"]
        order["version"] = int(order["version"]) + 1

    def _retrieve_order(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        order = self.orders.get(params["order_id"])
        if order is None:
            return not_found_error(f"Order `{params['order_id']}` not found.", "order_id").response
        return SandboxResponse.json({"order": order})
