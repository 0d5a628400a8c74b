from tests.dashboard.conftest import (  # noqa: F401  (shared signed-in clients)
    advisor_client,
    advisor_user,
    manager_client,
    manager_user,
)
