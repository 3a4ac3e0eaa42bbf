"""Remote probe agents, the central side (docs/agents.md): enrolment and tokens, the
assignment an agent pulls, and the words to show them. The protocol routes that feed
the monitor live in ``app/monitor/agent_api.py``; the agent process is ``app/agent/``."""
