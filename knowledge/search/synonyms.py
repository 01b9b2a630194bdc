"""Words customers use interchangeably in an online shop, shared by both backends (the
embedded index expands queries with them; Meilisearch receives them as its `synonyms`
setting). A workspace can add its own groups in its settings under `knowledge.synonyms`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("退款", "退钱", "返款", "退费"),
    ("发票", "开票", "票据", "报销凭证"),
    ("物流", "快递", "配送", "运单", "包裹"),
    ("运费", "邮费", "快递费", "配送费"),
    ("破损", "碎了", "坏了", "压坏", "摔坏"),
    ("发货", "寄出", "出库"),
    ("退货", "退回商品", "寄回"),
    ("换货", "更换商品"),
    ("优惠券", "折扣券", "代金券", "券", "红包"),
    ("会员", "vip"),
    ("支付", "付款", "付钱", "买单"),
    ("账号", "账户", "帐号", "帐户"),
    ("密码", "登录密码"),
    ("积分", "分数"),
    ("取消订单", "撤销订单"),
    ("refund", "money back", "reimburse", "reimbursement"),
    ("invoice", "receipt", "vat invoice", "bill"),
    ("shipping", "delivery", "shipment", "postage"),
    ("package", "parcel"),
    ("damaged", "broken", "crushed"),
    ("return", "send back"),
    ("coupon", "voucher", "promo code", "discount code"),
    ("account", "profile"),
    ("log in", "login", "sign in", "signin"),
    ("password", "passcode"),
    ("membership", "member", "loyalty"),
    ("pay", "payment", "checkout"),
    ("track", "tracking", "trace"),
    ("cancel", "cancellation"),
)


def merge_groups(
    base: Sequence[Sequence[str]], extra: Iterable[Sequence[str]] = ()
) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(g) for g in base) + tuple(tuple(g) for g in extra if len(g) > 1)


def meilisearch_synonyms(groups: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Meilisearch wants a map word -> its synonyms; a group becomes a full clique."""
    out: dict[str, list[str]] = {}
    for group in groups:
        for word in group:
            others = [w for w in group if w != word]
            out.setdefault(word, [])
            out[word].extend(w for w in others if w not in out[word])
    return out
