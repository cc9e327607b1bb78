"""Wire models: the typed shape of every output KetaGuide prints or serves, and their JSON Schemas.

Kept apart from the domain models (architecture.md, "three kinds of model"): the domain may change its inner
shape; these change only with the documented contract. The CLI's JSON is `model_dump(mode="json")` of these.
"""
