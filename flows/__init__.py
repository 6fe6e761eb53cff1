"""The pure core of Touchpoint: flow definitions, question maths, reply parsing and the conversation.

Nothing in this package performs I/O or imports the rest of the project.
"""
