"""The models routing table: merges every inference provider's models, aliases and registrations."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection

from polystack.apis.errors import ConflictError, InvalidRequestError, ModelNotFoundError, NotFoundError
from polystack.apis.inference.protocol import InferenceProvider
from polystack.apis.models.types import Model, ModelSource, ModelType, ProviderModel, RegisterModelRequest
from polystack.core.access.resources import Action
from polystack.core.registered_resources import ModelInput
from polystack.core.registry import ResourceRegistry, authorize, can, can_read, readable
from polystack.core.request_context import current_user, request_context
from polystack.core.routing.deployments import parse_routing
from polystack.core.routing.resource_table import ResourceTable

logger = logging.getLogger("polystack.models")


class ModelsRoutingTable(ResourceTable[Model, InferenceProvider]):
    """Knows which provider serves each model identifier; serves the Models API.

    A ResourceTable of models (registry, owner, cross-replica lookups: see resource_table.py) plus what is
    special about models: providers list their own models (refreshed periodically), registrations may be
    aliases of listed models, and a model can be reached by its provider's short name.
    """

    def __init__(self, providers: dict[str, InferenceProvider], registry: ResourceRegistry) -> None:
        super().__init__(Model, "model", providers, registry)
        # a virtual key's `allowed_models` by key id (None: any), set by core/keys when keys are served
        self.key_models: Callable[[str], Collection[str] | None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(  # type: ignore[override]
        self, configured: list[ModelInput], refresh_interval: float, registry_cache_seconds: float = 5.0
    ) -> None:
        self.cache_seconds = registry_cache_seconds
        await self.reload()
        await self.refresh()
        for entry in configured:
            await self.register_model(RegisterModelRequest(**entry.model_dump()), replace=True)
        if refresh_interval > 0:
            self.every(refresh_interval, self.refresh)
        if registry_cache_seconds > 0:
            self.every(registry_cache_seconds, self.reload)

    def kept_in_registry(self, resource: Model) -> bool:
        return resource.source == ModelSource.via_register_api  # listed ones come back from their provider

    async def reload_registered(self) -> None:
        """Take in what other replicas registered or removed in the shared registry."""
        await self.reload()

    async def refresh(self) -> None:
        """Ask every provider for its models; a provider that fails keeps its previous list."""
        results = await asyncio.gather(*(self._list_one(pid, impl) for pid, impl in self.providers.items()))
        for provider_id, listed in zip(self.providers, results, strict=True):
            if listed is not None:
                await self._replace_listed(provider_id, listed)

    async def _list_one(self, provider_id: str, impl: InferenceProvider) -> list[ProviderModel] | None:
        try:
            return await impl.list_models()
        except Exception as exc:  # noqa: BLE001 - an unreachable provider must not stop the others
            logger.warning("listing models of provider %s failed: %s", provider_id, exc)
            return None

    async def _replace_listed(self, provider_id: str, listed: list[ProviderModel]) -> None:
        fresh = {}
        for item in listed:
            identifier = f"{provider_id}/{item.provider_resource_id}"
            existing = self._cache.get(identifier)
            if existing and existing.source == ModelSource.via_register_api:
                continue
            fresh[identifier] = Model(
                identifier=identifier,
                provider_id=provider_id,
                provider_resource_id=item.provider_resource_id,
                model_type=item.model_type,
                metadata=item.metadata,
                source=ModelSource.listed_from_provider,
                created=existing.created if existing else int(time.time()),
            )
        stale = [
            m.identifier
            for m in self._cache.values()
            if m.provider_id == provider_id
            and m.source == ModelSource.listed_from_provider
            and m.identifier not in fresh
        ]
        for identifier in stale:
            await self.forget(identifier)
        for model in fresh.values():
            if self._cache.get(model.identifier) != model:
                await self.store(model)

    # ---- lookups used by the router ------------------------------------------------------------

    async def resolve(self, model_id: str) -> tuple[Model, InferenceProvider]:
        """The model and the provider impl serving it; `provider_id/name` reaches unlisted models too.

        A miss is checked against the shared registry, so a model another replica registered a moment
        ago is served at once.
        """
        model = await self.lookup(model_id)
        if model is not None and not can_read(model):  # another caller's alias: as if it did not exist
            raise ModelNotFoundError(model_id)
        if model is None:
            provider_id, _, name = model_id.partition("/")
            if (
                name
                and provider_id in self.providers
                and getattr(self.providers[provider_id], "accepts_unlisted_models", False)
            ):
                model = Model(identifier=model_id, provider_id=provider_id, provider_resource_id=name)
            else:
                model = self._by_short_name(model_id)
        impl = self.providers.get(model.provider_id)
        if impl is None:
            raise ModelNotFoundError(model_id)
        return model, impl

    def _by_short_name(self, name: str) -> Model:
        """The one served model whose provider calls it `name`; a 404 naming the candidates otherwise."""
        allowed = self._allowed_by_key()
        candidates = sorted(
            (m for m in readable(self._cache.values())
             if (m.provider_resource_id == name or m.identifier.endswith("/" + name))
             and (allowed is None or m.identifier in allowed)),
            key=lambda m: m.identifier,
        )
        if len(candidates) == 1:
            return candidates[0]
        raise ModelNotFoundError(name, candidates=[m.identifier for m in candidates])

    # ---- the Models API ------------------------------------------------------------------------

    async def list_models(self) -> list[Model]:
        models = await self.list()
        allowed = self._allowed_by_key()
        return models if allowed is None else [model for model in models if model.identifier in allowed]

    async def get_model(self, model_id: str) -> Model:
        model = await self.get(model_id)
        if model is None:
            return self._by_short_name(model_id)
        allowed = self._allowed_by_key()
        if allowed is not None and model.identifier not in allowed:  # as absent as another caller's alias
            raise ModelNotFoundError(model_id)
        return model

    def _allowed_by_key(self) -> Collection[str] | None:
        """The models the caller's virtual key may use; None when it used none or its key allows any."""
        key_id = request_context().key_id
        if key_id is None or self.key_models is None:
            return None
        return self.key_models(key_id)

    async def register_model(self, request: RegisterModelRequest, *, replace: bool = False) -> Model:
        request = await self._with_routing_target(request)
        provider_id, provider_model_id = self._target_of(request)
        target = self._cache.get(f"{provider_id}/{provider_model_id}")
        model_type = request.model_type or (target.model_type if target else ModelType.llm)
        metadata = {**(target.metadata if target else {}), **request.metadata}
        if model_type == ModelType.embedding and "embedding_dimension" not in metadata:
            raise InvalidRequestError("an embedding model needs metadata.embedding_dimension", param="metadata")
        model = Model(
            identifier=request.model_id,
            provider_id=provider_id,
            provider_resource_id=provider_model_id,
            model_type=model_type,
            metadata=metadata,
            source=ModelSource.via_register_api,
            created=int(time.time()),
            owner=current_user.get(),  # kept with the resource, for access policies to filter on
        )
        existing = self._cache.get(model.identifier)
        if existing and existing.source == ModelSource.via_register_api and not can(Action.UPDATE, existing):
            raise ConflictError(f"model_id '{model.identifier}' is taken; register under another model_id",
                                param="model_id")  # says nothing of whose, nor of its target
        authorize(Action.CREATE, model)
        if existing and not replace and existing.source == ModelSource.listed_from_provider:
            # a registration would shadow the listed entry, and then unregistering it would delete it
            raise ConflictError(
                f"model '{model.identifier}' is listed by provider '{existing.provider_id}'; register an alias "
                "under another model_id instead",
                param="model_id",
            )
        if existing and not replace and existing.source == ModelSource.via_register_api:
            same = (existing.provider_id, existing.provider_resource_id) == (provider_id, provider_model_id)
            if not same:
                raise ConflictError(
                    f"model '{model.identifier}' is already registered for "
                    f"{existing.provider_id}/{existing.provider_resource_id}; unregister it first",
                    param="model_id",
                )
            model.created = existing.created
        await self.store(model)
        return model

    async def _with_routing_target(self, request: RegisterModelRequest) -> RegisterModelRequest:
        """`metadata.routing` checked (a 400 naming its field); a model with deployments and no provider of
        its own stands for its first deployment wherever it is not routed (e.g. its type and listing)."""
        raw = request.metadata.get("routing") if request.metadata else None
        if raw is None:
            return request
        routing = parse_routing(raw)
        if not routing.deployments:
            return request
        # each deployment must be one the registering caller can reach; calls then reach them on its authority
        targets = [(await self.resolve(deployment.model))[0] for deployment in routing.deployments]
        if request.provider_id is not None or request.provider_model_id is not None:
            return request
        first = targets[0]
        return request.model_copy(update={"provider_id": first.provider_id,
                                          "provider_model_id": first.provider_resource_id})

    def _target_of(self, request: RegisterModelRequest) -> tuple[str, str]:
        provider_id = request.provider_id
        prefix, _, rest = request.model_id.partition("/")
        if provider_id is None:
            if rest and prefix in self.providers:
                provider_id = prefix
            elif len(self.providers) == 1:
                provider_id = next(iter(self.providers))
            else:
                raise InvalidRequestError(
                    f"cannot tell which provider serves '{request.model_id}'; pass provider_id "
                    f"(one of: {', '.join(sorted(self.providers))})",
                    param="provider_id",
                )
        if provider_id not in self.providers:
            raise NotFoundError(
                f"provider '{provider_id}' is not an inference provider of this server "
                f"(have: {', '.join(sorted(self.providers))})",
                param="provider_id",
            )
        provider_model_id = request.provider_model_id
        if provider_model_id is None:
            provider_model_id = rest if (rest and prefix == provider_id) else request.model_id
        return provider_id, provider_model_id

    async def unregister_model(self, model_id: str) -> None:
        """Remove by exact identifier: a short name is never enough to delete something."""
        model = await self.get(model_id)
        if model is None:
            raise ModelNotFoundError(model_id)
        authorize(Action.DELETE, model)
        if not self.kept_in_registry(model):
            raise InvalidRequestError(
                f"model '{model_id}' is listed by provider '{model.provider_id}' and comes back on every "
                "refresh; only registered models and aliases can be unregistered",
                param="model_id",
            )
        await self.forget(model_id)
