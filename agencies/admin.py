from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from agencies.models import Agency, Membership, OversightBoard


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Agency)
class AgencyAdmin(GuardedModelAdmin):
    list_display = ["name", "slug", "timezone", "cell_size_m", "publishes_public_map"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "agency", "role", "created_at"]
    list_filter = ["role", "agency"]
    raw_id_fields = ["user"]


@admin.register(OversightBoard)
class OversightBoardAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
