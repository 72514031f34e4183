"""Container mode: the chat app and the memory API as long-running services (Dockerfile, ecs-fargate.yaml)."""
