"""Danish names in the clean layer: ordered transforms as data, the name database
(spelling -> grundnavn), spelling counts per source, and the curation aid that proposes
groups of spellings.  The public surface is re-exported here; see each module for why."""

from validators.names.database import (
    NameDatabase,
    NameDatabaseError,
    build_name_database,
    count_spellings,
    import_name_database,
    load_name_database,
)
from validators.names.suggest import phonetic_key, suggest_name_groups, suggestions_as_database_rows
from validators.names.transforms import (
    WITH_STRUCK,
    WITHOUT_STRUCK,
    RuleSet,
    RulesFileError,
    Transform,
    load_rules,
    name_rules,
    phonetic_rules,
    place_rules,
)

__all__ = [
    "NameDatabase", "NameDatabaseError", "RuleSet", "RulesFileError", "Transform", "WITH_STRUCK", "WITHOUT_STRUCK",
    "build_name_database", "count_spellings", "import_name_database", "load_name_database", "load_rules",
    "name_rules", "phonetic_key", "phonetic_rules", "place_rules", "suggest_name_groups",
    "suggestions_as_database_rows",
]
