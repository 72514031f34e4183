"""The memory API (HTTP API + Mangum): recall preview, browse/edit/delete/export memories,
characters (incl. Character Card import and export) and chat history. ``app.create_app`` builds it.

Routes (all under /api/v1; the spec at ``/openapi.json``, the docs page at ``/docs`` locally):
    POST   /memory/recall                     what recall would inject for a query, with scores
    GET    /memory/facts|events|summaries     ?character_id=&limit=&cursor=  (paginated)
    PATCH  /memory/items/{item_id}            edit one fact/event/summary/turn (DynamoDB + index)
    DELETE /memory/items/{item_id}            delete it everywhere
    DELETE /memory?character_id=              forget everything about a character
    GET    /memory/export                     all of the caller's data as one JSON document
    GET    /characters, POST /characters
    POST   /characters/import                 a V1/V2/V3 card: JSON, or a PNG card as the raw body
    GET|PUT|DELETE /characters/{character_id}
    GET    /characters/{character_id}/card    ?spec=chara_card_v2|chara_card_v3&format=json|png
    GET|DELETE /chat/history, POST /chat/sessions/{character_id}/end

Modules: ``memories``, ``characters``, ``history`` (one router each), ``schemas`` (bodies and
their examples), ``views`` (responses), ``deps`` (the container, the caller, the admin service); the cards
themselves are ``companion.cards``. What the routes do with memories is the domain's
``companion.memory.admin.MemoryAdmin``; store failures become 503 ``store_unavailable`` in the
shared handlers of ``api/errors.py``.
"""
