"""A one-step workflow that asks the configured model a question (for the server's gateway test)."""

from __future__ import annotations

from pydantic import BaseModel

from baton.agents import AgentContext
from baton.core.workflow import TaskContext, Workflow
from baton.llm import Complexity, ModelRequest


class Question(BaseModel):
    question: str


class Answer(BaseModel):
    text: str
    model: str
    cost_usd: float


ask = Workflow("ask", inputs=Question, description="asks the configured model one question")


@ask.step()
async def answer(inputs: Question, ctx: TaskContext) -> Answer:
    agents = AgentContext.for_task(ctx)
    response = await agents.complete(ModelRequest.of(inputs.question, complexity=Complexity.COMPLEX))
    return Answer(text=response.text, model=response.model, cost_usd=response.cost_usd)
